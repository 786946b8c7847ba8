"""Data: the bundled MNIST subset, torchvision data sets and the split (sets), image folders
(folder) and their decoded cache (imagecache)."""
