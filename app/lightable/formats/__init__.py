"""Import and export of annotation formats. Readers parse files into the Qt-free
interchange model of ``formats.model``; ``formats.project_io`` writes that into a
project in one transaction (and collects a project into it for export)."""
