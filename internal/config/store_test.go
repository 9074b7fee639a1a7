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
