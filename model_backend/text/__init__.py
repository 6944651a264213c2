"""Text in and out of a model that needs no model to work on: thinking-mode parts of an answer
(`thinking`), the boxes a grounding answer names (`grounding`) and the word diff between two answers
(`word_diff`). Pure functions over strings; every other layer may use them."""
