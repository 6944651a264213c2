"""Compare: two checkpoints side by side on the same images or video and the same questions."""

from components import compare_view

compare_view.render()
