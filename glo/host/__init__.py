"""What glo needs from the machine it runs on: CPUs and threads (threads), files written whole
(atomic), where a server may listen (listen), and fault-injection points for the crash tests (faults).
"""
