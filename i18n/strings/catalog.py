"""The catalog's reasons why a checkpoint runs only behind a server (shown in Settings, said by the CLI)."""

EN = {
    "catalog.too_big_for_one_gpu": (
        "its bf16 weights take about {weights_gb} GB, far more than one {gpu_gb} GB GPU holds; serve it (LMDeploy, vLLM)"
    ),
    "catalog.needs_newer_transformers": (
        "its GPT-OSS LLM needs transformers >= {needed} (pinned: {pinned}); serve it with vLLM"
    ),
}

ZH = {
    "catalog.too_big_for_one_gpu": (
        "它的 bf16 权重约 {weights_gb} GB，远超一块 {gpu_gb} GB GPU 的容量；请用服务器（LMDeploy、vLLM）运行它"
    ),
    "catalog.needs_newer_transformers": (
        "它的 GPT-OSS 语言模型需要 transformers >= {needed}（本应用固定为 {pinned}）；请用 vLLM 运行它"
    ),
}
