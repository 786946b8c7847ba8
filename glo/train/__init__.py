"""Training: a run made ready (prepare), the Trainer that steps the model (trainer), the one event
generator and its recorder (loop), and the controls a front end steers it with (controls).
"""
