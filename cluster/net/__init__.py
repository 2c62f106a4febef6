from .network import Message, Network

__all__ = ["Message", "Network"]
