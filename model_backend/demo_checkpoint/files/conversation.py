"""Prompt templates of the InternVL family (the subset this checkpoint needs).

Mirrors the public InternVL `conversation.py` contract: `get_conv_template(name)` returns a
fresh `Conversation` with `system_template`, `system_message`, `roles`, `sep`, `messages`,
`append_message`, `get_prompt` and `copy`. Written for InternVL Studio's demo checkpoint.
"""

import dataclasses
from enum import IntEnum, auto
from typing import Dict, List, Optional, Tuple


class SeparatorStyle(IntEnum):
    """Separator styles; InternVL's chat templates all use MPT."""

    MPT = auto()


@dataclasses.dataclass
class Conversation:
    """A prompt template plus the messages appended to it so far."""

    name: str
    system_template: str = '{system_message}'
    system_message: str = ''
    roles: Tuple[str, str] = ('USER', 'ASSISTANT')
    messages: List[List[Optional[str]]] = dataclasses.field(default_factory=list)
    offset: int = 0
    sep_style: SeparatorStyle = SeparatorStyle.MPT
    sep: str = '\n'
    sep2: Optional[str] = None
    stop_str: Optional[str] = None
    stop_token_ids: Optional[List[int]] = None

    def get_prompt(self) -> str:
        """The prompt text; a `None` message leaves the role open for the model to answer."""
        system_prompt = self.system_template.format(system_message=self.system_message)
        if self.sep_style == SeparatorStyle.MPT:
            ret = system_prompt + self.sep
            for role, message in self.messages:
                if message:
                    if isinstance(message, tuple):
                        message = message[0]
                    ret += role + message + self.sep
                else:
                    ret += role
            return ret
        raise ValueError(f'Invalid style: {self.sep_style}')

    def set_system_message(self, system_message: str) -> None:
        self.system_message = system_message

    def append_message(self, role: str, message: Optional[str]) -> None:
        self.messages.append([role, message])

    def update_last_message(self, message: str) -> None:
        self.messages[-1][1] = message

    def copy(self) -> 'Conversation':
        return Conversation(
            name=self.name,
            system_template=self.system_template,
            system_message=self.system_message,
            roles=self.roles,
            messages=[[x, y] for x, y in self.messages],
            offset=self.offset,
            sep_style=self.sep_style,
            sep=self.sep,
            sep2=self.sep2,
            stop_str=self.stop_str,
            stop_token_ids=self.stop_token_ids,
        )

    def dict(self) -> dict:
        return {
            'template_name': self.name,
            'system_message': self.system_message,
            'roles': self.roles,
            'messages': self.messages,
            'offset': self.offset,
        }


conv_templates: Dict[str, Conversation] = {}


def register_conv_template(template: Conversation, override: bool = False) -> None:
    if not override:
        assert template.name not in conv_templates, f'{template.name} has been registered.'
    conv_templates[template.name] = template


def get_conv_template(name: str) -> Conversation:
    """A fresh copy of a registered template (callers may append to it freely)."""
    return conv_templates[name].copy()


# The system messages are the public checkpoints' own (InternVL2 kept the older one for
# benchmark stability; InternVL2.5 uses the newer one).
_INTERNVL2_SYSTEM = '你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, 是一个有用无害的人工智能助手。'
_INTERNVL2_5_SYSTEM = '你是书生·万象，英文名是InternVL，是由上海人工智能实验室、清华大学及多家合作单位联合开发的多模态大语言模型。'

register_conv_template(
    Conversation(
        name='Hermes-2',
        system_template='<|im_start|>system\n{system_message}',
        system_message=_INTERNVL2_SYSTEM,
        roles=('<|im_start|>user\n', '<|im_start|>assistant\n'),
        sep_style=SeparatorStyle.MPT,
        sep='<|im_end|>',
        stop_str='<|endoftext|>',
    )
)

register_conv_template(
    Conversation(
        name='internlm2-chat',
        system_template='<|im_start|>system\n{system_message}',
        system_message=_INTERNVL2_SYSTEM,
        roles=('<|im_start|>user\n', '<|im_start|>assistant\n'),
        sep_style=SeparatorStyle.MPT,
        sep='<|im_end|>',
    )
)

register_conv_template(
    Conversation(
        name='phi3-chat',
        system_template='<|system|>\n{system_message}',
        system_message=_INTERNVL2_SYSTEM,
        roles=('<|user|>\n', '<|assistant|>\n'),
        sep_style=SeparatorStyle.MPT,
        sep='<|end|>',
    )
)

register_conv_template(
    Conversation(
        name='internvl2_5',
        system_template='<|im_start|>system\n{system_message}',
        system_message=_INTERNVL2_5_SYSTEM,
        roles=('<|im_start|>user\n', '<|im_start|>assistant\n'),
        sep_style=SeparatorStyle.MPT,
        sep='<|im_end|>\n',
    )
)
