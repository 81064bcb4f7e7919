"""Qt-free, torch-free domain: geometry, annotations, labels, images, edits."""
