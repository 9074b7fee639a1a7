// Package config is Baton's configuration: the JSON file schema, the
// BATON_* environment overlay, defaults and validation. internal/server turns
// a Config into each component's own settings; components never import this
// package.
//
// Precedence, lowest first: defaults, the config file, the environment,
// command-line flags (applied by cmd/baton).
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/batonmq/baton/internal/isodur"
)

// Config is the whole server configuration.
type Config struct {
	// DataDir holds the durable store, the dev CA and certificates.
	DataDir string `json:"dataDir,omitempty"`
	// Memory keeps everything in memory: nothing is written to disk.
	Memory bool `json:"memory,omitempty"`
	// Durability of the embedded store: "fsync" (default), "buffered".
	Durability string `json:"durability,omitempty"`
	// SyncInterval is the fsync period in buffered mode.
	SyncInterval Duration `json:"syncInterval,omitempty"`
	// HotBodyMiB bounds the bodies of stored messages the broker keeps in
	// memory so that deliveries need not read them back from the store
	// (0: 64 MiB; -1: none).
	HotBodyMiB int64 `json:"hotBodyMiB,omitempty"`
	// Store, when set, is a PostgreSQL URL: the messages are kept there
	// instead of in DataDir (store.go).
	Store string `json:"store,omitempty"`
	// Standby runs this node as one of an active/standby group on the
	// PostgreSQL Store: it binds its listeners, forwards connections to
	// the active node and takes over when that one goes (store.go).
	Standby bool `json:"standby,omitempty"`
	// AdvertiseHost is the host other nodes use to reach this node's
	// faces (standby mode; default: each listener's host when it is a
	// specific address, else 127.0.0.1).
	AdvertiseHost string `json:"advertiseHost,omitempty"`
	// SharedStorageQueues keeps Storage Queues in tables of the PostgreSQL
	// Store that every node serves directly (multi-active), instead of in
	// the active node's broker (store.go).
	SharedStorageQueues bool `json:"sharedStorageQueues,omitempty"`
	// SharedServiceBus keeps Service Bus queues in tables of the
	// PostgreSQL Store that every node serves directly (multi-active),
	// instead of in the active node's broker (store.go).
	SharedServiceBus bool `json:"sharedServiceBus,omitempty"`
	// Listen addresses of the faces.
	Listen Listen `json:"listen"`
	// Log settings.
	Log Log `json:"log"`
	// Queues are created at start when they do not exist yet.
	Queues []Queue `json:"queues,omitempty"`
	// Topics, with their subscriptions and rules, are created at start
	// when they do not exist yet; declared rules missing from an existing
	// subscription are added (docs: README, Configuration).
	Topics []Topic `json:"topics,omitempty"`
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout Duration `json:"shutdownTimeout,omitempty"`
	// Keys are SAS keys by name (e.g. "RootManageSharedAccessKey"). Empty:
	// every token is accepted (the development default).
	Keys map[string]string `json:"keys,omitempty"`
	// TLS configures the HTTPS faces; by default a development CA in
	// DataDir/tls signs a certificate for localhost.
	TLS TLS `json:"tls"`
	// Accounts are extra Queue Storage accounts: name → base64 key (or
	// "key1,key2"). The development account devstoreaccount1 with Azurite's
	// well-known key always exists unless listed here with another key.
	Accounts map[string]string `json:"accounts,omitempty"`
	// AllowAnonymous lets Queue Storage requests without credentials
	// through (a development switch; Azure answers them 401).
	AllowAnonymous bool `json:"allowAnonymous,omitempty"`
	// EventGrid declares Event Grid topics, namespace topics and event
	// subscriptions (docs/event-grid.md).
	EventGrid EventGrid `json:"eventGrid"`

	// FromEmulator is set when the config file was Microsoft's Service Bus
	// emulator Config.json; EmulatorNotes say what of it is not applied.
	FromEmulator  bool     `json:"-"`
	EmulatorNotes []string `json:"-"`
}

// TLS configures certificates.
type TLS struct {
	CertFile string   `json:"certFile,omitempty"` // PEM chain; with KeyFile replaces the dev CA
	KeyFile  string   `json:"keyFile,omitempty"`
	Names    []string `json:"names,omitempty"` // extra host names for the dev certificate
}

// Listen holds listen addresses; an empty address turns the face off.
type Listen struct {
	// Mgmt is the JSON management API, health and readiness.
	Mgmt string `json:"mgmt,omitempty"`
	// AMQP is the Service Bus face: AMQP 1.0, and HTTPS (the admin API)
	// on the same port, told apart by the first byte.
	AMQP string `json:"amqp,omitempty"`
	// AMQPS is AMQP over TLS (what the SDKs dial without
	// UseDevelopmentEmulator, amqps://host:5671), with the admin API over
	// HTTPS on the same port. "off" (or empty) turns it off.
	AMQPS string `json:"amqps,omitempty"`
	// QueueStorage is the Azure Queue Storage face over plain HTTP, with
	// Azurite's path-style addressing (http://127.0.0.1:10001/devstoreaccount1).
	QueueStorage string `json:"queueStorage,omitempty"`
	// QueueStorageHTTPS optionally serves the same face over HTTPS with the
	// TLS certificate (by default the development CA's); empty is off.
	QueueStorageHTTPS string `json:"queueStorageHttps,omitempty"`
	// EventGrid is the Event Grid face (basic topics and namespaces) over
	// HTTPS with the TLS certificate (by default the development CA's).
	EventGrid string `json:"eventGrid,omitempty"`
	// EventGridHTTP optionally serves the same face over plain HTTP (for
	// clients without credentials only: the Go SDKs refuse keys over
	// HTTP); empty is off.
	EventGridHTTP string `json:"eventGridHttp,omitempty"`
}

// EventGrid configures the Event Grid face. Shapes follow ARM's JSON so
// that real templates can be pasted (filters are ARM filter objects).
type EventGrid struct {
	// Namespace names the namespace of NamespaceTopics (default "default").
	Namespace string `json:"namespace,omitempty"`
	// Keys are accepted for every topic, beside each topic's own keys.
	Keys []string `json:"keys,omitempty"`
	// AuthDisabled accepts every request with or without a credential.
	AuthDisabled bool `json:"authDisabled,omitempty"`
	// AcceptBearer accepts any Authorization: Bearer token (development).
	AcceptBearer bool `json:"acceptBearer,omitempty"`
	// MaxEventBytes and MaxRequestBytes bound publishes (default 1 MiB
	// each; Azure measured 1049600 and 1536000).
	MaxEventBytes   int `json:"maxEventBytes,omitempty"`
	MaxRequestBytes int `json:"maxRequestBytes,omitempty"`
	// RetryScale divides push retry delays (60 makes Azure's 10 s first
	// retry 1/6 s); default 1.
	RetryScale float64 `json:"retryScale,omitempty"`
	// DeadLetterDir, when set, also receives dead-lettered push events as
	// files in Azure's blob layout.
	DeadLetterDir string `json:"deadLetterDir,omitempty"`
	// SystemEventsInterval is how often Service Bus system events are
	// looked for (topics of topicType Microsoft.ServiceBus.Namespaces);
	// default 30s.
	SystemEventsInterval Duration `json:"systemEventsInterval,omitempty"`
	// Topics are basic (custom) topics with push event subscriptions.
	Topics []EGTopic `json:"topics,omitempty"`
	// NamespaceTopics are namespace topics with queue (pull) subscriptions.
	NamespaceTopics []EGNamespaceTopic `json:"namespaceTopics,omitempty"`
}

// EGTopic is a basic topic.
type EGTopic struct {
	Name string `json:"name"`
	// Listen optionally gives the topic a listener of its own (HTTPS),
	// where POST / and /api/events publish to it: the addressing the .NET
	// publisher needs, since it drops the endpoint's path.
	Listen string `json:"listen,omitempty"`
	// InputSchema: EventGridSchema, CloudEventSchemaV1_0,
	// CustomEventSchema; empty detects the schema per request.
	InputSchema string `json:"inputSchema,omitempty"`
	// InputSchemaMapping is ARM's inputSchemaMapping for custom topics
	// ({"inputSchemaMappingType":"Json","properties":{"id":{"sourceField":…},…}}),
	// applied when they deliver the EventGridEvent schema.
	InputSchemaMapping json.RawMessage `json:"inputSchemaMapping,omitempty"`
	Keys               []string        `json:"keys,omitempty"`
	// TopicType "Microsoft.ServiceBus.Namespaces" makes it a system topic
	// carrying Baton's Service Bus events (docs/event-grid.md).
	TopicType string `json:"topicType,omitempty"`
	// Source is a system topic's Service Bus namespace resource id.
	Source        string           `json:"source,omitempty"`
	Subscriptions []EGSubscription `json:"eventSubscriptions,omitempty"`
}

// EGSubscription is a webhook event subscription.
type EGSubscription struct {
	Name                string          `json:"name"`
	EndpointURL         string          `json:"endpointUrl,omitempty"`
	EventDeliverySchema string          `json:"eventDeliverySchema,omitempty"`
	Filter              json.RawMessage `json:"filter,omitempty"`
	MaxDeliveryAttempts int             `json:"maxDeliveryAttempts,omitempty"`
	EventTimeToLive     int             `json:"eventTimeToLiveInMinutes,omitempty"`
	DisableValidation   bool            `json:"disableValidation,omitempty"`
	// MaxEventsPerBatch and PreferredBatchSizeInKilobytes batch webhook
	// deliveries (ARM's destination properties); unset: one per request.
	MaxEventsPerBatch             int               `json:"maxEventsPerBatch,omitempty"`
	PreferredBatchSizeInKilobytes int               `json:"preferredBatchSizeInKilobytes,omitempty"`
	Headers                       map[string]string `json:"deliveryHeaders,omitempty"`
	// DynamicHeaders are delivery properties taken from the event: header
	// name → source field ("data.tenant").
	DynamicHeaders map[string]string `json:"dynamicDeliveryHeaders,omitempty"`

	// ARM's own shape, so that the "properties" of a
	// Microsoft.EventGrid/topics/eventSubscriptions resource can be pasted
	// beside "name": destination (WebHook), retryPolicy, and fields that
	// are accepted and not used.
	Destination           *EGDestination  `json:"destination,omitempty"`
	RetryPolicy           *EGRetryPolicy  `json:"retryPolicy,omitempty"`
	DeadLetterDestination json.RawMessage `json:"deadLetterDestination,omitempty"`
	Labels                json.RawMessage `json:"labels,omitempty"`
	ExpirationTimeUtc     json.RawMessage `json:"expirationTimeUtc,omitempty"`
}

// EGDestination is ARM's event subscription destination.
type EGDestination struct {
	EndpointType string `json:"endpointType"`
	Properties   struct {
		EndpointURL                   string                `json:"endpointUrl,omitempty"`
		MaxEventsPerBatch             int                   `json:"maxEventsPerBatch,omitempty"`
		PreferredBatchSizeInKilobytes int                   `json:"preferredBatchSizeInKilobytes,omitempty"`
		DeliveryAttributeMappings     []EGDeliveryAttribute `json:"deliveryAttributeMappings,omitempty"`
		AzureActiveDirectoryTenantID  string                `json:"azureActiveDirectoryTenantId,omitempty"`
		AzureActiveDirectoryAppID     string                `json:"azureActiveDirectoryApplicationIdOrUri,omitempty"`
		MinimumTLSVersionAllowed      string                `json:"minimumTlsVersionAllowed,omitempty"`
		// ServiceBusQueue, ServiceBusTopic, StorageQueue destinations.
		ResourceID      string `json:"resourceId,omitempty"`
		QueueName       string `json:"queueName,omitempty"`
		QueueMessageTTL int64  `json:"queueMessageTimeToLiveInSeconds,omitempty"`
	} `json:"properties"`
}

// EGDeliveryAttribute is one of ARM's deliveryAttributeMappings: Static
// (value, isSecret) or Dynamic (sourceField).
type EGDeliveryAttribute struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		Value       string `json:"value,omitempty"`
		IsSecret    bool   `json:"isSecret,omitempty"`
		SourceField string `json:"sourceField,omitempty"`
	} `json:"properties"`
}

// EGRetryPolicy is ARM's retry policy.
type EGRetryPolicy struct {
	MaxDeliveryAttempts      int `json:"maxDeliveryAttempts,omitempty"`
	EventTimeToLiveInMinutes int `json:"eventTimeToLiveInMinutes,omitempty"`
}

// EGNamespaceTopic is a namespace topic.
type EGNamespaceTopic struct {
	Name          string                    `json:"name"`
	Keys          []string                  `json:"keys,omitempty"`
	Subscriptions []EGNamespaceSubscription `json:"eventSubscriptions,omitempty"`
}

// EGNamespaceSubscription is a queue-delivery namespace subscription.
type EGNamespaceSubscription struct {
	Name                         string          `json:"name"`
	ReceiveLockDurationInSeconds int             `json:"receiveLockDurationInSeconds,omitempty"`
	MaxDeliveryCount             int32           `json:"maxDeliveryCount,omitempty"`
	EventTimeToLive              Duration        `json:"eventTimeToLive,omitempty"`
	FiltersConfiguration         json.RawMessage `json:"filtersConfiguration,omitempty"`
	// ARM's shape (the "properties" of a
	// Microsoft.EventGrid/namespaces/topics/eventSubscriptions resource):
	// deliveryConfiguration.queue carries the three settings above.
	DeliveryConfiguration *EGDeliveryConfiguration `json:"deliveryConfiguration,omitempty"`
	EventDeliverySchema   string                   `json:"eventDeliverySchema,omitempty"`
}

// EGDeliveryConfiguration is ARM's namespace subscription delivery
// configuration; only deliveryMode "Queue" is served.
type EGDeliveryConfiguration struct {
	DeliveryMode string `json:"deliveryMode,omitempty"`
	Queue        *struct {
		ReceiveLockDurationInSeconds int             `json:"receiveLockDurationInSeconds,omitempty"`
		MaxDeliveryCount             int32           `json:"maxDeliveryCount,omitempty"`
		EventTimeToLive              Duration        `json:"eventTimeToLive,omitempty"`
		DeadLetterDestination        json.RawMessage `json:"deadLetterDestinationWithResourceIdentity,omitempty"`
	} `json:"queue,omitempty"`
}

// Log configures logging.
type Log struct {
	Level  string `json:"level,omitempty"`  // debug, info, warn, error
	Format string `json:"format,omitempty"` // text or json
}

// Queue declares a queue. Unset properties take Service Bus's defaults.
type Queue struct {
	Name                                string   `json:"name"`
	LockDuration                        Duration `json:"lockDuration,omitempty"`
	MaxDeliveryCount                    int32    `json:"maxDeliveryCount,omitempty"`
	DefaultMessageTimeToLive            Duration `json:"defaultMessageTimeToLive,omitempty"`
	DeadLetteringOnMessageExpiration    bool     `json:"deadLetteringOnMessageExpiration,omitempty"`
	RequiresDuplicateDetection          bool     `json:"requiresDuplicateDetection,omitempty"`
	DuplicateDetectionHistoryTimeWindow Duration `json:"duplicateDetectionHistoryTimeWindow,omitempty"`
	RequiresSession                     bool     `json:"requiresSession,omitempty"`
	MaxSizeInMegabytes                  int64    `json:"maxSizeInMegabytes,omitempty"`
	MaxMessageSizeInKilobytes           int64    `json:"maxMessageSizeInKilobytes,omitempty"`
	AutoDeleteOnIdle                    Duration `json:"autoDeleteOnIdle,omitempty"`
	ForwardTo                           string   `json:"forwardTo,omitempty"`
	ForwardDeadLetteredMessagesTo       string   `json:"forwardDeadLetteredMessagesTo,omitempty"`
	UserMetadata                        string   `json:"userMetadata,omitempty"`
}

// Default returns the defaults.
func Default() Config {
	return Config{
		DataDir:         "baton-data",
		Durability:      "fsync",
		SyncInterval:    Duration(100 * time.Millisecond),
		Listen:          Listen{Mgmt: "127.0.0.1:8088", AMQP: ":5672", AMQPS: ":5671", QueueStorage: "127.0.0.1:10001", EventGrid: ":8443"},
		Log:             Log{Level: "info", Format: "text"},
		ShutdownTimeout: Duration(10 * time.Second),
	}
}

// Load reads a JSON config file over the defaults. Unknown fields are an
// error, so a typo never silently does nothing.
func Load(path string) (Config, error) {
	c := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if IsEmulatorConfig(data) {
		e, err := LoadEmulator(data)
		if err != nil {
			return c, fmt.Errorf("config: %s: %w", path, err)
		}
		c.Queues, c.EmulatorNotes = e.ConfigQueues()
		c.Topics = e.ConfigTopics()
		c.FromEmulator = true
		return c, nil
	}
	if err := Decode(data, &c); err != nil {
		return c, fmt.Errorf("config: %s: %w", path, err)
	}
	return c, nil
}

// Decode decodes a JSON config document into c, keeping c's values for
// fields the document does not set.
func Decode(data []byte, c *Config) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber() // rule parameters keep integers apart from doubles
	if err := dec.Decode(c); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// ApplyEnv overlays BATON_* variables read through getenv:
// BATON_DATA_DIR, BATON_MEMORY, BATON_DURABILITY, BATON_STORE, BATON_STANDBY,
// BATON_ADVERTISE_HOST, BATON_SYNC_INTERVAL, BATON_HOT_BODY_MIB,
// BATON_MGMT_ADDR, BATON_AMQP_ADDR, BATON_AMQPS_ADDR, BATON_QUEUE_ADDR,
// BATON_EVENTGRID_ADDR, BATON_LOG_LEVEL, BATON_LOG_FORMAT.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if v := getenv("BATON_DATA_DIR"); v != "" {
		c.DataDir = v
	}
	if v := getenv("BATON_MEMORY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: BATON_MEMORY=%q: %w", v, err)
		}
		c.Memory = b
	}
	if v := getenv("BATON_DURABILITY"); v != "" {
		c.Durability = v
	}
	if v := getenv("BATON_STORE"); v != "" {
		c.Store = v
	}
	if v := getenv("BATON_STANDBY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: BATON_STANDBY=%q: %w", v, err)
		}
		c.Standby = b
	}
	if v := getenv("BATON_ADVERTISE_HOST"); v != "" {
		c.AdvertiseHost = v
	}
	if v := getenv("BATON_SHARED_STORAGE_QUEUES"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: BATON_SHARED_STORAGE_QUEUES=%q: %w", v, err)
		}
		c.SharedStorageQueues = b
	}
	if v := getenv("BATON_SHARED_SERVICE_BUS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: BATON_SHARED_SERVICE_BUS=%q: %w", v, err)
		}
		c.SharedServiceBus = b
	}
	if v := getenv("BATON_SYNC_INTERVAL"); v != "" {
		d, err := ParseDuration(v)
		if err != nil {
			return fmt.Errorf("config: BATON_SYNC_INTERVAL=%q: %w", v, err)
		}
		c.SyncInterval = Duration(d)
	}
	if v := getenv("BATON_HOT_BODY_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("config: BATON_HOT_BODY_MIB=%q: %w", v, err)
		}
		c.HotBodyMiB = n
	}
	if v, ok := lookup(getenv, "BATON_MGMT_ADDR"); ok {
		c.Listen.Mgmt = v
	}
	if v, ok := lookup(getenv, "BATON_AMQP_ADDR"); ok {
		c.Listen.AMQP = v
	}
	if v, ok := lookup(getenv, "BATON_AMQPS_ADDR"); ok {
		c.Listen.AMQPS = v
	}
	if v, ok := lookup(getenv, "BATON_QUEUE_ADDR"); ok {
		c.Listen.QueueStorage = v
	}
	if v, ok := lookup(getenv, "BATON_EVENTGRID_ADDR"); ok {
		c.Listen.EventGrid = v
	}
	if v := getenv("BATON_LOG_LEVEL"); v != "" {
		c.Log.Level = v
	}
	if v := getenv("BATON_LOG_FORMAT"); v != "" {
		c.Log.Format = v
	}
	return nil
}

// lookup distinguishes "unset" from "set to off": the value "off" (or
// "none") turns a listener off.
func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	switch strings.ToLower(v) {
	case "":
		return "", false
	case "off", "none":
		return "", true
	}
	return v, true
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	if !c.Memory && c.DataDir == "" {
		errs = append(errs, errors.New("dataDir is empty (use --memory to run without a data directory)"))
	}
	switch c.Durability {
	case "fsync", "buffered":
	default:
		errs = append(errs, fmt.Errorf("durability %q is not one of fsync, buffered", c.Durability))
	}
	if c.HotBodyMiB < -1 {
		errs = append(errs, fmt.Errorf("hotBodyMiB %d: use 0 for the default, -1 for none, or a size in MiB", c.HotBodyMiB))
	}
	if c.SyncInterval <= 0 {
		errs = append(errs, fmt.Errorf("syncInterval %v must be positive", time.Duration(c.SyncInterval)))
	}
	if err := c.validateStore(); err != nil {
		errs = append(errs, err)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: certFile and keyFile go together"))
	}
	for name, key := range c.Keys {
		if name == "" || key == "" {
			errs = append(errs, errors.New("keys: a SAS key needs a name and a value"))
		}
	}
	if _, err := c.Log.SlogLevel(); err != nil {
		errs = append(errs, err)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log format %q is not one of text, json", c.Log.Format))
	}
	seen := map[string]bool{}
	for i, q := range c.Queues {
		key := strings.ToLower(q.Name)
		if q.Name == "" {
			errs = append(errs, fmt.Errorf("queues[%d] has no name", i))
		} else if seen[key] {
			errs = append(errs, fmt.Errorf("queue %q is declared twice", q.Name))
		}
		seen[key] = true
	}
	errs = append(errs, validateTopics(c.Topics, seen)...)
	errs = append(errs, c.EventGrid.validate()...)
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

// SlogLevel parses the log level.
func (l Log) SlogLevel() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return 0, fmt.Errorf("log level %q is not one of debug, info, warn, error", l.Level)
	}
	return lv, nil
}

// Duration is a time.Duration that reads and writes JSON as a string in Go
// syntax ("30s") or ISO 8601 ("PT30S"), or as a number of seconds.
type Duration time.Duration

// MarshalJSON writes Go syntax.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads Go syntax, ISO 8601 or seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var n float64
	if err := json.Unmarshal(b, &n); err == nil {
		*d = Duration(n * float64(time.Second))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\" or \"PT30S\": %w", err)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration accepts Go syntax ("1h30m"), ISO 8601 durations as Azure
// writes them ("P1DT2H", "PT30S", "P10675199DT2H48M5.4775807S" for
// TimeSpan.MaxValue) and .NET TimeSpan text ("00:01:00", "1.02:03:04").
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if s[0] == 'P' || s[0] == 'p' {
		return isodur.Parse(s)
	}
	if strings.Contains(s, ":") {
		return parseTimeSpan(s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: use Go syntax like 30s, ISO 8601 like PT30S, or hh:mm:ss", s)
	}
	return d, nil
}

const maxDur = isodur.Max

func parseTimeSpan(s string) (time.Duration, error) {
	bad := fmt.Errorf("duration %q is not a TimeSpan like 00:01:00 or 1.02:03:04", s)
	days := 0.0
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, bad
	}
	h := parts[0]
	if i := strings.IndexByte(h, '.'); i >= 0 {
		d, err := strconv.ParseFloat(h[:i], 64)
		if err != nil {
			return 0, bad
		}
		days, h = d, h[i+1:]
	}
	hv, err1 := strconv.ParseFloat(h, 64)
	mv, err2 := strconv.ParseFloat(parts[1], 64)
	sv, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || hv < 0 || mv < 0 || sv < 0 {
		return 0, bad
	}
	total := days*86400 + hv*3600 + mv*60 + sv
	if total*1e9 >= float64(maxDur) {
		return maxDur, nil
	}
	return time.Duration(total * 1e9), nil
}
