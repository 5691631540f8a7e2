"""Extensions created once at module level and bound to an app in ``create_app``."""
from flask_socketio import SocketIO

socketio = SocketIO()
