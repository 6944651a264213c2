"""The shared server-side app: the model pool that keeps checkpoints loaded within a memory budget
(`pool`), answers that run on their own threads in a fair queue per model (`runs`), the conversations
in use with their runs (`workspace`), and who may do what (`access`). Built on the engines and the
storage; the pages only watch what happens here."""
