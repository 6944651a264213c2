"""The Batch page's A/B runs: two models over one dataset, their joint table and per-model scores."""

EN = {
    "batch_ab.toggle": "A/B: compare two models",
    "batch_ab.toggle_help": (
        "Both models answer every question of the dataset with the same settings; the results come as one "
        "table with both predictions, both scores and whether they agree."
    ),
    "batch_ab.model_a": "Model A",
    "batch_ab.model_b": "Model B",
    "batch_ab.need_models": "Choose both models first.",
    "batch_ab.run_caption": "A: {a} · B: {b} · started {when}",
    "batch_ab.progress": "A {a} · B {b} of {total} questions answered · {errors}",
    "batch_ab.mode_together": "Both models fit in memory together: each question goes to A, then to B.",
    "batch_ab.mode_one_after_other": (
        "The two models do not fit in memory together, so A answers every question first and then B. "
        "The joint rows fill in while B answers."
    ),
    "batch_ab.col.model": "Model",
    "batch_ab.col.answered": "Answered",
    "batch_ab.col.p50": "Latency p50 (s)",
    "batch_ab.col.p90": "Latency p90 (s)",
    "batch_ab.disagree_count": "The two models disagree on {count} of {compared} questions both answered.",
    "batch_ab.disagree_only": "Only rows where they disagree",
    "batch_ab.open_side": "Answer of",
    "batch_ab.open_help": (
        "Open this row on its chat page (image, images or video) with the chosen model's answer, and"
        " that model's checkpoint for follow-up questions."
    ),
    "batch_ab.open_unanswered": "{model} has not answered this row yet.",
    "batch_ab.disagree_help": (
        "Questions whose two predictions differ once case, punctuation, articles and spacing are ignored "
        "(as the relaxed score compares), and questions only one model could answer."
    ),
    "batch_ab.no_disagreement": "The two models agree on every question answered so far.",
    "batch_ab.col.prediction_a": "Prediction A",
    "batch_ab.col.prediction_b": "Prediction B",
    "batch_ab.col.score_a": "Score A",
    "batch_ab.col.score_b": "Score B",
    "batch_ab.col.agree": "Agree",
    "batch_ab.agree_help": "Ticked when both predictions say the same (ignoring case, punctuation and articles).",
    "batch_ab.col.error_a": "Error A",
    "batch_ab.col.error_b": "Error B",
    "batch_ab.table_count": "{shown} of {total} questions shown.",
}

ZH = {
    "batch_ab.toggle": "A/B：对比两个模型",
    "batch_ab.toggle_help": "两个模型用相同的设置回答数据集中的每个问题；结果合成一张表：两边的预测、两边的得分，以及是否一致。",
    "batch_ab.model_a": "模型 A",
    "batch_ab.model_b": "模型 B",
    "batch_ab.need_models": "请先选好两个模型。",
    "batch_ab.run_caption": "A：{a} · B：{b} · 开始于 {when}",
    "batch_ab.progress": "A {a} · B {b} / {total} 个问题已回答 · {errors}",
    "batch_ab.mode_together": "两个模型可以同时放进内存：每个问题先由 A 回答，再由 B 回答。",
    "batch_ab.mode_one_after_other": "两个模型无法同时放进内存，所以先由 A 回答全部问题，再由 B 回答。B 回答时对照行会逐行补全。",
    "batch_ab.col.model": "模型",
    "batch_ab.col.answered": "已回答",
    "batch_ab.col.p50": "延迟 p50（秒）",
    "batch_ab.col.p90": "延迟 p90（秒）",
    "batch_ab.disagree_count": "在两个模型都回答了的 {compared} 个问题中，有 {count} 个答案不一致。",
    "batch_ab.disagree_only": "只看答案不一致的行",
    "batch_ab.open_side": "谁的回答",
    "batch_ab.open_help": "在对应的对话页面（图片、多图或视频）打开这一行，以所选模型的回答作为回答，并用该模型的检查点继续追问。",
    "batch_ab.open_unanswered": "{model}还没有回答这一行。",
    "batch_ab.disagree_help": "忽略大小写、标点、冠词和空格后（与宽松匹配的比较方式相同）两个预测仍不同的问题，以及只有一个模型答出的问题。",
    "batch_ab.no_disagreement": "到目前为止，两个模型在每个问题上的答案都一致。",
    "batch_ab.col.prediction_a": "预测 A",
    "batch_ab.col.prediction_b": "预测 B",
    "batch_ab.col.score_a": "得分 A",
    "batch_ab.col.score_b": "得分 B",
    "batch_ab.col.agree": "一致",
    "batch_ab.agree_help": "两个预测说的是同一个答案时打勾（忽略大小写、标点和冠词）。",
    "batch_ab.col.error_a": "错误 A",
    "batch_ab.col.error_b": "错误 B",
    "batch_ab.table_count": "显示 {shown} / {total} 个问题。",
}
