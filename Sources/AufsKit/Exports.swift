@_exported import AufsMount
