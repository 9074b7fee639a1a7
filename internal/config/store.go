package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// The store setting: empty keeps messages in the embedded file store under
// DataDir (or in memory with Memory); a PostgreSQL URL keeps them in that
// database (one Baton node at a time per database schema; see
// docs/scale-out.md). Set it with "store" in the config file, BATON_STORE
// or `baton serve --store`. With it, "standby" (--standby) runs the node
// as one of an active/standby group on that database, and "advertiseHost"
// (--advertise-host) says where the others reach it, and
// "sharedStorageQueues" (--shared-storage-queues) keeps Storage Queues in
// tables that every node serves directly, and "sharedServiceBus"
// (--shared-service-bus) does the same for Service Bus queues.

// PostgresStore reports whether the store is a PostgreSQL database.
func (c *Config) PostgresStore() bool { return c.Store != "" }

func (c *Config) validateStore() error {
	if c.Store == "" {
		if c.Standby {
			return errors.New("standby: a standby node needs a PostgreSQL store shared with the active node (--store postgres://…)")
		}
		if c.SharedStorageQueues {
			return errors.New("sharedStorageQueues: shared Storage Queues live in a PostgreSQL store (--store postgres://…)")
		}
		if c.SharedServiceBus {
			return errors.New("sharedServiceBus: shared Service Bus queues live in a PostgreSQL store (--store postgres://…)")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(c.AdvertiseHost); err == nil || strings.ContainsAny(c.AdvertiseHost, "/ []") {
		return fmt.Errorf("advertiseHost %q: a host name or IP address, without a port or brackets", c.AdvertiseHost)
	}
	if c.Memory {
		return errors.New("store: --memory and a PostgreSQL store exclude each other")
	}
	u, err := url.Parse(c.Store)
	if err != nil {
		// url's error repeats the URL, password and all.
		return errors.New("store: not a valid postgres://user:password@host:5432/database URL")
	}
	if s := strings.ToLower(u.Scheme); s != "postgres" && s != "postgresql" {
		return fmt.Errorf("store %q: only postgres://user:password@host:5432/database URLs are supported", redactURL(u))
	}
	return nil
}

// redactURL hides a password for messages.
func redactURL(u *url.URL) string {
	if _, ok := u.User.Password(); ok {
		c := *u
		c.User = url.UserPassword(u.User.Username(), "xxxxx")
		return c.String()
	}
	return u.String()
}
