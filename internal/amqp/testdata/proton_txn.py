"""Transaction client for proton_txn_test.go and internal/e2e: with Qpid
Proton's transactional API it receives one message from SRC in peek-lock,
declares a transaction, accepts the message and sends "new" to DST inside
it, then, by MODE:

  commit       commits; prints {"event": "committed"} and exits
  rollback     rolls back (Proton then releases the accepted delivery),
               receives the message again; prints {"event": "aborted"} and
               {"event": "redelivered", ...} and exits
  stage        prints {"event": "staged"} once both operations are
               acknowledged and waits (to be killed)
  commit-wait  commits, prints {"event": "committed"} once the discharge is
               acknowledged, and waits (to be killed)

Usage: proton_txn.py HOST:PORT SRC DST MODE. Events are JSON lines on
stdout; errors go to stderr with exit status 1."""
import json
import sys

from proton import Message
from proton.handlers import MessagingHandler, TransactionHandler
from proton.reactor import Container

addr, src, dst, mode = sys.argv[1:5]


def emit(**kw):
    print(json.dumps(kw), flush=True)


class Client(MessagingHandler, TransactionHandler):
    def __init__(self):
        super(Client, self).__init__(prefetch=0, auto_accept=False, auto_settle=False)
        self.txn = None
        self.received = None
        self.pending = 0
        self.phase = "receive"

    def on_start(self, event):
        self.container = event.container
        self.conn = event.container.connect("amqp://" + addr, allowed_mechs="ANONYMOUS", reconnect=False)
        self.receiver = event.container.create_receiver(self.conn, src)
        self.sender = event.container.create_sender(self.conn, dst)
        self.receiver.flow(1)

    def on_message(self, event):
        if self.phase == "receive":
            self.received = event.delivery
            self.phase = "declare"
            self.container.declare_transaction(self.conn, handler=self)
        elif self.phase == "redeliver":
            body = event.message.body
            if isinstance(body, bytes):
                body = body.decode()
            emit(event="redelivered", body=body, delivery_count=event.message.delivery_count)
            self.conn.close()

    def on_transaction_declared(self, event):
        self.txn = event.transaction
        self.phase = "staging"
        self.pending = 2
        self.txn.accept(self.received)
        self.out = self.txn.send(self.sender, Message(id="new", body="new"))

    def on_settled(self, event):
        if self.phase != "staging":
            return
        if event.delivery not in (self.received, self.out):
            return
        state = event.delivery.remote_state
        if state != 0x34:
            fail("staged operation answered %s" % state)
        self.pending -= 1
        if self.pending:
            return
        self.phase = "discharge"
        if mode == "stage":
            emit(event="staged")
        elif mode == "rollback":
            self.txn.abort()
        else:
            self.txn.commit()

    def on_transaction_committed(self, event):
        emit(event="committed")
        if mode == "commit":
            self.conn.close()

    def on_transaction_aborted(self, event):
        emit(event="aborted")
        self.phase = "redeliver"
        self.receiver.flow(1)

    def on_transaction_commit_failed(self, event):
        fail("commit failed: %s" % event.delivery.remote.condition)

    def on_transaction_declare_failed(self, event):
        fail("declare failed: %s" % event.delivery.remote.condition)

    def on_transport_error(self, event):
        if self.phase == "discharge" and mode in ("stage", "commit-wait"):
            sys.exit(0)  # the broker was killed, as the test meant
        fail("transport error: %s" % event.transport.condition)


def fail(why):
    sys.stderr.write(why + "\n")
    sys.stderr.flush()
    sys.exit(1)


Container(Client()).run()
