"""A stand-in for the `modeling_phi3.py` that InternVL2-4B ships, copied into a test checkpoint.

The layers are transformers' own Phi-3. Only `prepare_inputs_for_generation` is replaced, by one
that reads the cache through the API the published file uses (written for transformers ~4.40):
`get_seq_length()`, `seen_tokens` and `get_max_length()`. The last one is gone since 4.49, so
under the pin this file fails exactly like the published one:
AttributeError: 'DynamicCache' object has no attribute 'get_max_length'.
"""

from transformers import Phi3ForCausalLM as _NativePhi3ForCausalLM
from transformers.cache_utils import Cache


class Phi3ForCausalLM(_NativePhi3ForCausalLM):
    def prepare_inputs_for_generation(
        self, input_ids, past_key_values=None, attention_mask=None, inputs_embeds=None, **kwargs
    ):
        if past_key_values is not None:
            if isinstance(past_key_values, Cache):
                cached = past_key_values.get_seq_length()
                seen = past_key_values.seen_tokens
                limit = past_key_values.get_max_length()
            else:
                cached = seen = past_key_values[0][0].shape[2]
                limit = None
            # Only the tokens the cache has not seen yet go in.
            if attention_mask is not None and attention_mask.shape[1] > input_ids.shape[1]:
                input_ids = input_ids[:, -(attention_mask.shape[1] - seen) :]
            elif seen < input_ids.shape[1]:
                input_ids = input_ids[:, seen:]
            if limit is not None and attention_mask is not None and cached + input_ids.shape[1] > limit:
                attention_mask = attention_mask[:, -limit:]

        position_ids = kwargs.get("position_ids")
        if attention_mask is not None and position_ids is None:
            position_ids = attention_mask.long().cumsum(-1) - 1
            position_ids.masked_fill_(attention_mask == 0, 1)
            if past_key_values:
                position_ids = position_ids[:, -input_ids.shape[1] :]

        first_step = past_key_values is None or len(past_key_values) == 0
        model_inputs = {"inputs_embeds": inputs_embeds} if inputs_embeds is not None and first_step else {}
        model_inputs = model_inputs or {"input_ids": input_ids}
        model_inputs.update(
            position_ids=position_ids,
            past_key_values=past_key_values,
            use_cache=kwargs.get("use_cache"),
            attention_mask=attention_mask,
        )
        return model_inputs
