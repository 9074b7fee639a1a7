"""Interop client for proton_test.go: sends to and receives from a Baton
queue with Qpid Proton (python3-qpid-proton) and prints the results as JSON."""
import json
import sys

from proton import Message
from proton.utils import BlockingConnection

addr, queue = sys.argv[1], sys.argv[2]
conn = BlockingConnection("amqp://" + addr, allowed_mechs="ANONYMOUS", timeout=20)
snd = conn.create_sender(queue)
for i in range(10):
    snd.send(Message(id="m-%d" % i, subject="s", body="hello %d" % i, properties={"i": i}))
snd.send(Message(id="big", body="x" * 300000))  # many frames each way
rcv = conn.create_receiver(queue, credit=20)
out = []
for i in range(11):
    m = rcv.receive(timeout=20)
    ann = m.annotations or {}
    out.append({
        "id": m.id,
        "body_len": len(m.body),
        "body": m.body if len(m.body) < 100 else "",
        "seq": ann.get("x-opt-sequence-number"),
        "i": (m.properties or {}).get("i"),
        "delivery_count": m.delivery_count,
    })
    rcv.accept()
conn.close()
print(json.dumps(out))
