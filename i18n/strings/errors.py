"""Problems outside the media files: loading a checkpoint, answering, the conversation store."""

EN = {
    "load.unexpected": (
        "Loading {checkpoint} failed for a reason this app does not know. "
        "Try again, or choose another checkpoint; the details below help to report it."
    ),
}

ZH = {
    "load.unexpected": "加载 {checkpoint} 失败，原因不明。请重试或换一个模型权重；下方的详细信息可用于报告问题。",
}
