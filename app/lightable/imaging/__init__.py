"""Pixels: decoding, EXIF orientation, thumbnails, masks, safety limits. Qt-free."""
