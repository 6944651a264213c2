"""What loading a checkpoint reports while it runs (the sidebar's progress bar) and the notes a loaded model shows."""

EN = {
    "load.progress.demo": "Preparing the offline demo checkpoint",
    "load.progress.demo_family": "Preparing the offline {family} demo checkpoint",
    "load.progress.download": "Downloading {repo}",
    "load.progress.weights": "Loading weights",
    "load.progress.elsewhere": "Another session is loading {checkpoint}: waiting for it",
    "load.notice.no_flash_attn": "flash-attn is not available here; using the standard attention",
    "load.notice.cpu_float16": (
        "no GPU here: running on the CPU in float16, which is slow; bfloat16 or float32 is faster"
    ),
    "load.notice.bnb_cpu": "{quantization} on the CPU: bitsandbytes' CPU kernels are slow",
    "load.notice.phi3_get_max_length": (
        "compatibility shim phi3-get-max-length: Phi-3's own code calls DynamicCache.get_max_length(), "
        "gone since transformers 4.49: shimmed"
    ),
}

ZH = {
    "load.progress.demo": "正在准备离线演示模型",
    "load.progress.demo_family": "正在准备离线 {family} 演示模型",
    "load.progress.download": "正在下载 {repo}",
    "load.progress.weights": "正在加载权重",
    "load.progress.elsewhere": "另一个会话正在加载 {checkpoint}，正在等待它完成",
    "load.notice.no_flash_attn": "这里没有可用的 flash-attn，改用标准注意力实现",
    "load.notice.cpu_float16": "这里没有 GPU：在 CPU 上以 float16 运行很慢，用 bfloat16 或 float32 会更快",
    "load.notice.bnb_cpu": "在 CPU 上使用 {quantization}：bitsandbytes 的 CPU 内核很慢",
    "load.notice.phi3_get_max_length": (
        "兼容补丁 phi3-get-max-length：Phi-3 自带的代码调用了 DynamicCache.get_max_length()，"
        "而 transformers 从 4.49 起已移除该方法：已补上"
    ),
}
