"""Images as glo keeps and shows them, without a terminal library: which training images a run shows
and their bytes (shown), the one PNG grid writer (png), images as half-block or ASCII cells (textimage).
"""
