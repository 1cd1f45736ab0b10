package harness

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/go-sql-driver/mysql" // database/sql driver for the mqtt-mysql profile's cleanup
	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"orderflow/internal/events"
)

// Profiles are the component profiles that run on this machine (components/<profile>).
var Profiles = []string{"redis", "rabbitmq-postgres", "mqtt-mysql"}

// Machine-local endpoints of the profiles' backends (see components/secrets/local.json).
const (
	postgresAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	mysqlAdminDSN    = "root:@tcp(127.0.0.1:3306)/"
	rabbitURL        = "amqp://guest:guest@127.0.0.1:5672/"
	mqttURL          = "tcp://127.0.0.1:1883"
)

// backend gives one run of one profile its own space in the shared brokers and stores, and removes it
// afterwards. Topics, app ids and consumer groups are already unique per run (Isolation); a backend adds what
// the broker or store needs beyond that (a database of its own) and knows what to delete.
type backend interface {
	// prepare returns component metadata overrides for the run.
	prepare(t testing.TB, r run) (map[string]map[string]string, error)
	cleanup(t testing.TB, r run)
}

// run names what a System owns in the backends.
type run struct {
	suffix, topicPrefix, tmp string
	apps                     []string
	// redis is the private Redis the run uses instead of the machine's (Options.RedisAddr), if any.
	redis string
}

func (r run) appID(app string) string { return app + "-" + r.suffix }
func (r run) database() string        { return "of_" + r.suffix }

// topics lists every topic a run can create: the catalog and the dead-letter topics, prefixed.
func (r run) topics() []string {
	var out []string
	for _, k := range events.All {
		out = append(out, r.topicPrefix+k.Topic)
	}
	for _, t := range DeadLetterTopics {
		out = append(out, r.topicPrefix+t)
	}
	return out
}

func backendFor(profile string) (backend, error) {
	switch profile {
	case "redis":
		return redisBackend{}, nil
	case "rabbitmq-postgres":
		return rabbitPostgresBackend{}, nil
	case "mqtt-mysql":
		return mqttMySQLBackend{}, nil
	}
	return nil, fmt.Errorf("harness: profile %q does not run on this machine (want one of %v)", profile, Profiles)
}

// storeApps are the services that own a state store (<app>-store).
var storeApps = []string{"orders", "inventory", "payments", "shipping", "notifications", "deadletters", ConsoleApp}

// storeOverrides sets key to value on every service's state store.
func storeOverrides(key, value string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, app := range storeApps {
		out[app+"-store"] = map[string]string{key: value}
	}
	return out
}

// secretsWith writes a copy of components/secrets/local.json with some values replaced and returns the
// secretstore override that points the run at it.
func secretsWith(t testing.TB, r run, replace map[string]string) (map[string]map[string]string, error) {
	raw, err := os.ReadFile(filepath.Join(Root(t), "components", "secrets", "local.json"))
	if err != nil {
		return nil, err
	}
	var secrets map[string]string
	if err := json.Unmarshal(raw, &secrets); err != nil {
		return nil, err
	}
	for k, v := range replace {
		secrets[k] = v
	}
	out, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(r.tmp, "secrets.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return nil, err
	}
	return map[string]map[string]string{"secretstore": {"secretsFile": path}}, nil
}

type redisBackend struct{}

func (redisBackend) prepare(testing.TB, run) (map[string]map[string]string, error) { return nil, nil }

// cleanup leaves a private Redis alone: it is discarded whole when its test ends.
func (redisBackend) cleanup(t testing.TB, r run) {
	if r.redis == "" {
		cleanRedis(t, r.suffix, r.topicPrefix)
	}
}

// redisHostOverrides points the redis profile's pub/sub and every state store at addr.
func redisHostOverrides(addr string) map[string]map[string]string {
	out := storeOverrides("redisHost", addr)
	out["pubsub"] = map[string]string{"redisHost": addr}
	return out
}

// rabbitPostgresBackend gives each run its own PostgreSQL database, and deletes the run's exchanges and
// queues ("<app id>-<topic>") from RabbitMQ.
type rabbitPostgresBackend struct{}

func (rabbitPostgresBackend) prepare(t testing.TB, r run) (map[string]map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, postgresAdminURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at 127.0.0.1:5432: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{r.database()}.Sanitize()); err != nil {
		return nil, fmt.Errorf("creating database %s: %w", r.database(), err)
	}
	return secretsWith(t, r, map[string]string{
		"postgres-url": fmt.Sprintf("host=127.0.0.1 port=5432 user=postgres dbname=%s sslmode=disable", r.database()),
	})
}

func (rabbitPostgresBackend) cleanup(t testing.TB, r run) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, postgresAdminURL); err == nil {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{r.database()}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("harness: dropping %s: %v", r.database(), err)
		}
		conn.Close(ctx)
	}
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		t.Logf("harness: cleaning RabbitMQ: %v", err)
		return
	}
	defer conn.Close()
	for _, topic := range r.topics() {
		for _, app := range append(r.apps, "spy") {
			// A channel closes on any error (such as deleting what does not exist); use one per operation.
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(r.appID(app)+"-"+topic, false, false, false)
				_ = ch.Close()
			}
		}
		if ch, err := conn.Channel(); err == nil {
			_ = ch.ExchangeDelete(topic, false, false)
			_ = ch.Close()
		}
	}
}

// mqttMySQLBackend gives each run its own MySQL schema, and ends the run's persistent MQTT sessions (one
// client per app id) so the broker forgets their subscriptions.
type mqttMySQLBackend struct{}

// Each store gets a schema of its own, as in components/mqtt-mysql: sidecars sharing one would race to create it.
func (mqttMySQLBackend) prepare(_ testing.TB, r run) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, app := range storeApps {
		out[app+"-store"] = map[string]string{"schemaName": mysqlSchema(r, app)}
	}
	return out, nil
}

func mysqlSchema(r run, app string) string { return r.database() + "_" + app }

func (mqttMySQLBackend) cleanup(t testing.TB, r run) {
	if db, err := sql.Open("mysql", mysqlAdminDSN); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for _, app := range storeApps {
			schema := mysqlSchema(r, app)
			if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+strings.ReplaceAll(schema, "`", "")+"`"); err != nil {
				t.Logf("harness: dropping %s: %v", schema, err)
			}
		}
		cancel()
		_ = db.Close()
	}
	for _, app := range append(r.apps, "spy") {
		opts := mqtt.NewClientOptions().AddBroker(mqttURL).SetClientID(r.appID(app)).SetCleanSession(true).
			SetConnectTimeout(5 * time.Second)
		c := mqtt.NewClient(opts)
		if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			c.Disconnect(100)
		}
	}
}
