from whatshybrid.realtime.consumers.native import EventStreamConsumer
from whatshybrid.realtime.consumers.socketio import SocketIOConsumer

__all__ = ["EventStreamConsumer", "SocketIOConsumer"]
