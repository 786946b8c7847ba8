"""glo's Textual console: train, watch and compare GLO runs from a terminal."""
