package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := map[string]time.Duration{
		"30s": 30 * time.Second, "1h30m": 90 * time.Minute, "PT30S": 30 * time.Second, "P1DT2H": 26 * time.Hour,
		"PT0.5S": 500 * time.Millisecond, "P10675199DT2H48M5.4775807S": maxDur, "00:01:00": time.Minute,
		"1.02:03:04": 26*time.Hour + 3*time.Minute + 4*time.Second, "P1W": 7 * 24 * time.Hour,
	}
	for in, want := range cases {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "P1H", "PTS", "abc", "1:2", "-1:00:00", "PT1.2.3S", "P1DT"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}

func TestDecodeAndValidate(t *testing.T) {
	c := Default()
	err := Decode([]byte(`{"dataDir":"/d","durability":"buffered","syncInterval":"PT0.01S","listen":{"mgmt":":9"},
		"queues":[{"name":"a","lockDuration":"30s","maxDeliveryCount":3},{"name":"b","requiresSession":true}]}`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/d" || c.Durability != "buffered" || time.Duration(c.SyncInterval) != 10*time.Millisecond ||
		c.Listen.Mgmt != ":9" || len(c.Queues) != 2 || time.Duration(c.Queues[0].LockDuration) != 30*time.Second || c.Log.Level != "info" {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := Decode([]byte(`{"dataDirr":"x"}`), &c); err == nil || !strings.Contains(err.Error(), "dataDirr") {
		t.Fatalf("unknown field: %v", err)
	}
	bad := Default()
	bad.Durability = "sometimes"
	bad.Log.Level = "loud"
	bad.Queues = []Queue{{Name: "q"}, {Name: "Q"}, {}}
	err = bad.Validate()
	for _, want := range []string{"sometimes", "loud", "declared twice", "no name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to mention %q", err, want)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	c := Default()
	env := map[string]string{"BATON_DATA_DIR": "/x", "BATON_MEMORY": "true", "BATON_MGMT_ADDR": "off", "BATON_LOG_LEVEL": "debug"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/x" || !c.Memory || c.Listen.Mgmt != "" || c.Log.Level != "debug" {
		t.Fatalf("after env: %+v", c)
	}
	env = map[string]string{"BATON_MEMORY": "maybe"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("BATON_MEMORY=maybe accepted")
	}
	env = map[string]string{"BATON_HOT_BODY_MIB": "16"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil || c.HotBodyMiB != 16 {
		t.Fatalf("BATON_HOT_BODY_MIB=16: %d, %v", c.HotBodyMiB, err)
	}
	env = map[string]string{"BATON_HOT_BODY_MIB": "lots"}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("BATON_HOT_BODY_MIB=lots accepted")
	}
	c.HotBodyMiB = -2
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "hotBodyMiB") {
		t.Fatalf("hotBodyMiB -2: %v", err)
	}
}

func TestLoadEmulatorFile(t *testing.T) {
	path := t.TempDir() + "/Config.json"
	doc := `{
  // Microsoft's sample, with comments
  "UserConfig": {
    "Namespaces": [{
      "Name": "sbemulatorns",
      "Queues": [{ "Name": "queue.1", "Properties": { "LockDuration": "PT1M", "MaxDeliveryCount": 3, "RequiresSession": false } }],
      "Topics": []
    }],
    "Logging": { "Type": "File" }
  }
}`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !c.FromEmulator || len(c.Queues) != 1 || c.Queues[0].Name != "queue.1" || c.Queues[0].MaxDeliveryCount != 3 {
		t.Fatalf("loaded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
