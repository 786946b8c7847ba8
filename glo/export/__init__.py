"""Runs in the formats other tools read: TensorBoard event files (``tensorboard``), one tidy table of
every epoch (``table``). The writers load only when called (``glo --help`` stays light)."""
