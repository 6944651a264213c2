"""Configuration of the InternVL chat model: a vision config, an LLM config and the image knobs.

Mirrors the public `InternVLChatConfig`: `llm_config.architectures[0]` names the LLM class
(transformers' own, or InternLM2 from the checkpoint's `configuration_internlm2.py`), and the fields `template`, `force_image_size`, `dynamic_image_size`,
`use_thumbnail`, `min_dynamic_patch`, `max_dynamic_patch`, `downsample_ratio` and `ps_version`
tell callers how to prepare images and prompts.
"""

import copy

from transformers import AutoConfig
from transformers.configuration_utils import PretrainedConfig

from .configuration_intern_vit import InternVisionConfig
from .configuration_internlm2 import InternLM2Config

# LLM classes the InternVL family uses that ship with transformers itself; InternLM2's config
# (like its model) ships inside the checkpoint.
_LLM_MODEL_TYPES = {
    'Qwen2ForCausalLM': 'qwen2',
    'LlamaForCausalLM': 'llama',
    'Phi3ForCausalLM': 'phi3',
    'Qwen3ForCausalLM': 'qwen3',
}


class InternVLChatConfig(PretrainedConfig):
    model_type = 'internvl_chat'
    is_composition = True

    def __init__(
        self,
        vision_config=None,
        llm_config=None,
        use_backbone_lora=0,
        use_llm_lora=0,
        select_layer=-1,
        force_image_size=None,
        downsample_ratio=0.5,
        template=None,
        dynamic_image_size=False,
        use_thumbnail=False,
        ps_version='v1',
        min_dynamic_patch=1,
        max_dynamic_patch=6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        vision_config = {} if vision_config is None else vision_config
        llm_config = {'architectures': ['Qwen2ForCausalLM']} if llm_config is None else llm_config
        if isinstance(vision_config, InternVisionConfig):
            vision_config = vision_config.to_dict()
        if isinstance(llm_config, PretrainedConfig):
            llm_config = llm_config.to_dict()
        self.vision_config = InternVisionConfig(**vision_config)
        architecture = llm_config.get('architectures', ['Qwen2ForCausalLM'])[0]
        llm_kwargs = {k: v for k, v in llm_config.items() if k != 'model_type'}
        if architecture == 'InternLM2ForCausalLM':
            self.llm_config = InternLM2Config(**llm_kwargs)
        elif architecture in _LLM_MODEL_TYPES:
            self.llm_config = AutoConfig.for_model(_LLM_MODEL_TYPES[architecture], **llm_kwargs)
        else:
            raise ValueError(f'Unsupported LLM architecture: {architecture}')
        self.use_backbone_lora = use_backbone_lora
        self.use_llm_lora = use_llm_lora
        self.select_layer = select_layer
        self.force_image_size = force_image_size
        self.downsample_ratio = downsample_ratio
        self.template = template
        self.dynamic_image_size = dynamic_image_size
        self.use_thumbnail = use_thumbnail
        self.ps_version = ps_version  # 'v2' swaps height and width back after the pixel shuffle
        self.min_dynamic_patch = min_dynamic_patch
        self.max_dynamic_patch = max_dynamic_patch

    def to_dict(self):
        output = copy.deepcopy(self.__dict__)
        output['vision_config'] = self.vision_config.to_dict()
        output['llm_config'] = self.llm_config.to_dict()
        output['model_type'] = self.__class__.model_type
        for key in ('_attn_implementation_internal', '_attn_implementation_autoset', '_commit_hash'):
            output.pop(key, None)
        return output
