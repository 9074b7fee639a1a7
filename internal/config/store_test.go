package config

import (
	"strings"
	"testing"
)

func TestStoreSetting(t *testing.T) {
	c := Default()
	if err := Decode([]byte(`{"store": "postgres://baton@db:5432/baton?sslmode=disable"}`), &c); err != nil {
		t.Fatal(err)
	}
	if !c.PostgresStore() || c.Validate() != nil {
		t.Fatalf("store %q: %v", c.Store, c.Validate())
	}
	c = Default()
	if err := c.ApplyEnv(func(k string) string {
		if k == "BATON_STORE" {
			return "postgresql:///baton?host=/run/postgresql"
		}
		return ""
	}); err != nil || !c.PostgresStore() || c.Validate() != nil {
		t.Fatalf("BATON_STORE: %q %v %v", c.Store, err, c.Validate())
	}
	for _, bad := range []string{"mysql://u:secret@h/db", "postgres://u:secret@h:port/db", "/var/lib/baton"} {
		c := Default()
		c.Store = bad
		err := c.Validate()
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("store %q: %v", bad, err)
		}
	}
	c = Default()
	c.Store, c.Memory = "postgres://h/db", true
	if c.Validate() == nil {
		t.Error("store with --memory accepted")
	}
}

func TestStandbySetting(t *testing.T) {
	c := Default()
	if err := Decode([]byte(`{"standby": true, "advertiseHost": "10.0.0.5"}`), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "needs a PostgreSQL store") {
		t.Fatalf("standby without a PostgreSQL store: %v", err)
	}
	c.Store = "postgres://h/db"
	if err := c.Validate(); err != nil || !c.Standby || c.AdvertiseHost != "10.0.0.5" {
		t.Fatalf("standby with a store: %+v %v", c, err)
	}
	for _, bad := range []string{"10.0.0.5:5672", "[::1]", "a b"} {
		c.AdvertiseHost = bad
		if c.Validate() == nil {
			t.Errorf("advertiseHost %q accepted", bad)
		}
	}
	c = Default()
	if err := c.ApplyEnv(func(k string) string {
		return map[string]string{"BATON_STANDBY": "true", "BATON_ADVERTISE_HOST": "node1", "BATON_STORE": "postgres://h/db"}[k]
	}); err != nil || !c.Standby || c.AdvertiseHost != "node1" || c.Validate() != nil {
		t.Fatalf("environment: %+v %v %v", c, err, c.Validate())
	}
}

func TestSharedStorageQueuesSetting(t *testing.T) {
	c := Default()
	if err := Decode([]byte(`{"sharedStorageQueues": true}`), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "PostgreSQL store") {
		t.Fatalf("shared storage queues without a PostgreSQL store: %v", err)
	}
	c.Store = "postgres://h/db"
	if err := c.Validate(); err != nil || !c.SharedStorageQueues {
		t.Fatalf("shared storage queues with a store: %+v %v", c, err)
	}
	c = Default()
	if err := c.ApplyEnv(func(k string) string {
		return map[string]string{"BATON_SHARED_STORAGE_QUEUES": "1", "BATON_STORE": "postgres://h/db"}[k]
	}); err != nil || !c.SharedStorageQueues || c.Validate() != nil {
		t.Fatalf("environment: %+v %v", c, err)
	}
	if err := c.ApplyEnv(func(k string) string {
		return map[string]string{"BATON_SHARED_STORAGE_QUEUES": "maybe"}[k]
	}); err == nil {
		t.Fatal("BATON_SHARED_STORAGE_QUEUES=maybe accepted")
	}
}
