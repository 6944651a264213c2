"""The exports: the Markdown file's headings, and those that reproduce a conversation elsewhere (a replay
script and an OpenAI-compatible request)."""

EN = {
    "export.reproduce": "To reproduce elsewhere",
    "export.replay.label": "Replay script (.zip)",
    "export.replay.help": (
        "A Python script, with this conversation's images and videos, that asks the checkpoint's own "
        "model.chat every question again with the same settings and says whether the answers match: "
        "something to attach to a bug report for the model's authors."
    ),
    "export.replay.nothing": "There is no answer to replay yet.",
    "export.server.label": "Server for the request",
    "export.request.curl": "OpenAI request (curl)",
    "export.request.python": "OpenAI request (Python)",
    "export.request.nothing": "There is no question to send yet.",
    "export.request.help": (
        "The last question with the whole conversation before it, as a request to an OpenAI-compatible "
        "server ({server}), with the images inline."
    ),
    # the Markdown download (questions and answers stay as written)
    "export.md.title": "Conversation",
    "export.md.turn": "Turn {number}",
    "export.md.attached": "Attached: {media}",
    "export.md.video": "{name} ({frames} frames)",
    "export.md.user": "User:",
    "export.md.assistant": "Assistant:",
    "export.md.error": "Error:",
    "export.md.thinking": "Thinking",
    "export.md.stopped": "(stopped)",
    "export.md.interrupted": "(interrupted)",
}

ZH = {
    "export.reproduce": "在别处复现",
    "export.replay.label": "重放脚本（.zip）",
    "export.replay.help": "一个 Python 脚本，附带本对话的图片和视频：它用检查点自带的 model.chat 按相同设置重新提出每个问题，并说明回答是否一致。可附在给模型作者的问题报告里。",
    "export.replay.nothing": "还没有可以重放的回答。",
    "export.server.label": "请求发往的服务器",
    "export.request.curl": "OpenAI 请求（curl）",
    "export.request.python": "OpenAI 请求（Python）",
    "export.request.nothing": "还没有可以发送的问题。",
    "export.request.help": "最后一个问题连同之前的整段对话，作为发给 OpenAI 兼容服务器（{server}）的请求，图片直接包含在内。",
    "export.md.title": "对话",
    "export.md.turn": "第 {number} 轮",
    "export.md.attached": "附件：{media}",
    "export.md.video": "{name}（{frames} 帧）",
    "export.md.user": "用户：",
    "export.md.assistant": "助手：",
    "export.md.error": "错误：",
    "export.md.thinking": "思考过程",
    "export.md.stopped": "（已停止）",
    "export.md.interrupted": "（已中断）",
}
