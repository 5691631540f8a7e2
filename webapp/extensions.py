"""Extensions created once at module level and bound to an app in ``create_app``."""
from flask_socketio import SocketIO
from socketio.packet import Packet


class TextPacket(Packet):
    """Socket.IO packets that never look for binary attachments in what we send.

    The default packet walks every value of every outgoing payload (recursively, in Python) to see
    whether it holds ``bytes``; for a lab frame of thousands of events that walk cost more than the
    JSON encoding itself. Herd Lab only ever sends JSON (a ``bytes`` value would now fail loudly in
    ``json.dumps``). Binary packets *from* clients are still decoded as usual.
    """

    uses_binary_events = False


socketio = SocketIO(serializer=TextPacket)
