"""Engines turn a conversation into a streamed `Answer` (`base`): `local` runs a loaded checkpoint the
way its own `chat` does, `openai_compat` asks an OpenAI-compatible server, `batched` answers several
questions in one forward pass. Around the local engine sit its caches (`vision_cache`,
`prefix_cache`, `media_cache`), the work done while the user types (`ahead`, `encode_ahead`) and the
`factory` that leases engines from the pool. Engines know checkpoints and preprocessing, not the UI
or the storage."""
