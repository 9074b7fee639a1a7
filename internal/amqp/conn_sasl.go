package amqp

import (
	"bytes"
	"fmt"

	"github.com/batonmq/baton/internal/amqp/frames"
)

// SASL mechanisms offered, in order of preference. Service Bus clients pick
// ANONYMOUS (service-bus-amqp.md §1.2); PLAIN and EXTERNAL are for other
// AMQP clients. Credentials, if any, go to Config.AuthenticateFunc.
var saslMechanisms = []frames.Symbol{"ANONYMOUS", "PLAIN", "EXTERNAL"}

// sasl runs the SASL exchange after the SASL protocol header was echoed:
// sasl-mechanisms, sasl-init, sasl-outcome. A failed authentication sends
// outcome auth (1) and ends the connection.
func (c *conn) sasl() error {
	if err := c.writeFrame(frames.TypeSASL, 0, &frames.SASLMechanisms{Mechanisms: saslMechanisms}); err != nil {
		return err
	}
	f, err := c.readFrame(frames.MinMaxFrameSize * 64)
	if err != nil {
		return err
	}
	init, ok := f.Body.(*frames.SASLInit)
	if !ok || f.Type != frames.TypeSASL {
		return fmt.Errorf("amqp: expected sasl-init, got %T", f.Body)
	}
	mech, user, pass := string(init.Mechanism), "", ""
	code := frames.SASLOK
	switch mech {
	case "ANONYMOUS":
		user = string(init.InitialResponse)
	case "PLAIN":
		// message = [authzid] NUL authcid NUL passwd (RFC 4616)
		parts := bytes.SplitN(init.InitialResponse, []byte{0}, 3)
		if len(parts) != 3 {
			code = frames.SASLAuth
			break
		}
		user, pass = string(parts[1]), string(parts[2])
	case "EXTERNAL":
		user = string(init.InitialResponse)
	default:
		code = frames.SASLAuth
	}
	if code == frames.SASLOK && c.cfg.AuthenticateFunc != nil {
		if err := c.cfg.AuthenticateFunc(mech, user, pass); err != nil {
			c.log.Info("amqp: SASL authentication failed", "mechanism", mech, "user", user, "err", err)
			code = frames.SASLAuth
		}
	}
	if err := c.writeFrame(frames.TypeSASL, 0, &frames.SASLOutcome{Code: code}); err != nil {
		return err
	}
	if code != frames.SASLOK {
		return fmt.Errorf("amqp: SASL %s authentication failed", mech)
	}
	c.info.Mechanism, c.info.User = mech, user
	return nil
}
