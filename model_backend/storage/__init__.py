"""What the app keeps on disk, in SQLite under the data folder: saved conversations (`store`) and login
sessions (`sessions`). Writes are atomic transactions, so a killed server loses nothing already shown;
disk faults become `StoreError`s with a message for people. Storage knows conversations and settings,
nothing of models or engines."""
