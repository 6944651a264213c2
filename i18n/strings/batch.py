"""The Batch page (a checkpoint over a dataset as a server-side job), its navigation title, and the batch
jobs' errors (uploads, zips, datasets)."""

EN = {
    "app.page.batch": "Batch",
    # Starting a run
    "batch.new_run": "New run",
    "batch.source": "Dataset from",
    "batch.source_upload": "Upload",
    "batch.source_server": "A folder on the server",
    "batch.roots_hint": "To pick datasets from folders on the server, set {env} (folders separated by colons).",
    "batch.dataset_label": "Dataset file (JSONL, JSON or CSV)",
    "batch.dataset_help": (
        "The InternVL fine-tuning JSONL (image or video, and the conversations), a flat JSONL, or a CSV "
        "with the columns id, image | images | video, question, answer. It may also come inside the zip."
    ),
    "batch.media_label": "Images and videos (several files, or one zip)",
    "batch.media_help": (
        "The files the dataset names. Loose files may leave out the folders of the dataset's paths "
        "(a.jpg for images/a.jpg) when their names are unique; a zip keeps its folders. Up to {limit_mb} MB in all."
    ),
    "batch.server_file": "Dataset file on the server",
    "batch.server_file_placeholder": "Choose a dataset file",
    "batch.server_none": "No dataset files found in the folders of {env}",
    "batch.model": "Model",
    "batch.model_current": "{name} (current)",
    "batch.model_help": "This session's model, or another one already loaded. Load others on the Settings page.",
    "batch.no_model": "There is no model to run with. Choose one on the Settings page.",
    "batch.max_new_tokens": "Max new tokens",
    "batch.max_tiles": "Max tiles per question",
    "batch.batch_size": "Batch size",
    "batch.batch_size_help": (
        "How many questions without earlier turns the model answers together, in one generation. "
        "1 answers them one by one, and greedy answers then equal the checkpoint's own model.chat. "
        "Above 1 the shorter prompts are padded: in float32 the greedy answers stay the same as one by one "
        "(tested), but in bfloat16 and float16 the padding changes the arithmetic, so an answer can differ "
        "after some words (seen in bfloat16). It pays off where the model has compute to spare (a GPU); on a "
        "CPU the gain was small. Questions with earlier turns still go one by one; a model on a server "
        "batches on its own and ignores this."
    ),
    "batch.greedy": "greedy decoding",
    "batch.sampling": "sampling (temperature {temperature}, top-p {top_p})",
    "batch.settings_note": "The other generation settings come from the Settings page: {decoding}, the system prompt and thinking.",
    "batch.start": "Start",
    "batch.need_dataset": "Add a dataset file (or a zip that holds one).",
    "batch.need_server_file": "Choose a dataset file on the server.",
    "batch.server_refused": "Only admins can run a batch against a server.",
    # The runs
    "batch.no_runs": "No runs yet. Upload a dataset and press Start.",
    "batch.your_runs": "Your runs ({count})",
    "batch.run_help": "{checkpoint}, started {when}",
    "batch.run_caption": "Model: {checkpoint} · started {when}",
    "batch.progress": "{done} of {total} questions answered · {errors}",
    "batch.errors_none": "no errors",
    "batch.errors_some": "errors: {count}",
    "batch.loading_model": "Loading the model: {message}",
    "batch.status.loading": "Loading the model",
    "batch.status.running": "Running",
    "batch.status.done": "Finished",
    "batch.status.cancelled": "Cancelled",
    "batch.status.interrupted": "Interrupted",
    "batch.status.failed": "Failed",
    "batch.status.stopping": "Cancelling…",
    "batch.cancel": "Cancel",
    "batch.cancel_help": "Stops within the question being answered; the answers so far are kept.",
    "batch.interrupted_note": "The server restarted while this run was going. Resume carries on with the questions not answered yet.",
    "batch.cancelled_note": "This run was cancelled. Resume carries on with the questions not answered yet.",
    "batch.run_failed": "The run stopped because of a problem.",
    "batch.resume": "Resume",
    "batch.delete": "Delete run",
    # Summary and results
    "batch.metric.relaxed": "Relaxed match",
    "batch.relaxed_help": (
        "Share of the questions with a reference whose prediction matches it, ignoring case, "
        "punctuation and articles (a number within 5 %). The score column is 1 for a match, 0 for none."
    ),
    "batch.metric.anls": "ANLS (mean)",
    "batch.anls_help": "Average Normalized Levenshtein Similarity: 1 for the same text, 0 when less than half of it agrees.",
    "batch.metric.errors": "Errors",
    "batch.metric.latency": "Latency (median)",
    "batch.latency_help": "Seconds per question; 90 % took at most {p90} s.",
    "batch.seconds": "{value} s",
    "batch.wrong_only": "Wrong or failed only",
    "batch.wrong_help": "Rows whose prediction does not match the reference (relaxed match), and rows with an error.",
    "batch.no_wrong": "No wrong or failed rows.",
    "batch.no_results": "No answers yet.",
    "batch.col.image": "Image",
    "batch.col.row": "Row",
    "batch.col.question": "Question",
    "batch.col.reference": "Reference",
    "batch.col.prediction": "Prediction",
    "batch.col.score": "Score",
    "batch.col.anls": "ANLS",
    "batch.col.latency": "Latency (s)",
    "batch.col.error": "Error",
    "batch.table_cut": "Showing the first {shown} of {total} rows; the downloads have all of them.",
    "batch.table_count": "{shown} of {total} results shown.",
    "batch.line": "line {line}",
    "batch.turn": "question {turn}",
    "batch.open_label": "Row to open",
    "batch.open": "Open as a conversation",
    "batch.open_help": (
        "Opens the row on its chat page (image, multi-image or video) with the prediction as the answer, "
        "to look at it closely or ask follow-ups."
    ),
    "batch.download_jsonl": "Download JSONL",
    "batch.download_csv": "Download CSV",
    # Errors of the batch jobs
    "batch.folder_outside": "{path} is not a dataset file inside the folders set in {env}.",
    "batch.upload_too_big": (
        "The uploads are larger than {limit_mb} MB (a zip counts by what it unpacks to). "
        "Upload fewer files, or ask the admin to raise {env}."
    ),
    "batch.bad_file_name": "The file name “{name}” cannot be used. Rename the file and upload it again.",
    "batch.no_dataset": "No dataset file was uploaded, and the zip has none. Add a JSONL, JSON or CSV file.",
    "batch.many_datasets": "The zip holds {count} dataset files. Upload the one to run as the dataset file.",
    "batch.dataset_type": "{name} is not a dataset file. Use JSONL, JSON or CSV.",
    "batch.zip_unreadable": "{name} is not a zip file this app can read.",
    "batch.zip_too_many": "{name} has {count} entries; at most {limit} are allowed. Split it into smaller zips.",
    "batch.zip_unsafe_name": "{name} was refused: its entry “{entry}” would be unpacked outside its folder.",
    "batch.zip_not_a_file": "{name} was refused: its entry “{entry}” is a link or a device, not a file or a folder.",
    "batch.zip_clash": "{name} was refused: “{entry}” is both a file and a folder in it.",
    "batch.dataset_unreadable": "The dataset file could not be read. The details say why.",
    "batch.dataset_empty": "{name} has no questions.",
    "batch.dataset_gone": "The dataset file {name} is no longer on the server, so this run cannot go on.",
    "batch.resume_no_model": "The model this run used is no longer there (the server restarted). Start a new run.",
    "batch.row_gone": "This row cannot be opened: the dataset file changed, or its media files are missing.",
}

ZH = {
    "app.page.batch": "批量评测",
    # Starting a run
    "batch.new_run": "新建运行",
    "batch.source": "数据集来源",
    "batch.source_upload": "上传",
    "batch.source_server": "服务器上的文件夹",
    "batch.roots_hint": "要从服务器上的文件夹选择数据集，请设置 {env}（多个文件夹用冒号分隔）。",
    "batch.dataset_label": "数据集文件（JSONL、JSON 或 CSV）",
    "batch.dataset_help": (
        "InternVL 微调用的 JSONL（image 或 video，加上 conversations）、扁平 JSONL，或包含 "
        "id、image | images | video、question、answer 列的 CSV。也可以放在 zip 里一起上传。"
    ),
    "batch.media_label": "图片和视频（多个文件，或一个 zip）",
    "batch.media_help": (
        "数据集里引用的文件。单独上传的文件在文件名不重复时可以省略数据集路径中的文件夹"
        "（images/a.jpg 可以直接传 a.jpg）；zip 会保留其中的文件夹。总计不超过 {limit_mb} MB。"
    ),
    "batch.server_file": "服务器上的数据集文件",
    "batch.server_file_placeholder": "选择一个数据集文件",
    "batch.server_none": "{env} 指定的文件夹中没有找到数据集文件",
    "batch.model": "模型",
    "batch.model_current": "{name}（当前）",
    "batch.model_help": "本会话使用的模型，或其他已加载的模型。其他模型请在“设置”页面加载。",
    "batch.no_model": "没有可用的模型。请在“设置”页面选择一个。",
    "batch.max_new_tokens": "最大新 token 数",
    "batch.max_tiles": "每个问题的最大切片数",
    "batch.batch_size": "批大小",
    "batch.batch_size_help": (
        "模型在一次生成中同时回答多少个没有前文的问题。"
        "为 1 时逐个回答，贪心解码的答案与检查点自带的 model.chat 完全相同。"
        "大于 1 时较短的提示会被填充：在 float32 下贪心答案与逐个回答相同（已测试），"
        "但在 bfloat16 和 float16 下填充会改变计算结果，答案可能在若干词之后出现差异（在 bfloat16 下见到过）。"
        "在算力有富余的设备（GPU）上才划算；在 CPU 上提速很小。"
        "有前文的问题仍逐个回答；服务器上的模型自行批处理，不使用此设置。"
    ),
    "batch.greedy": "贪心解码",
    "batch.sampling": "采样（temperature {temperature}，top-p {top_p}）",
    "batch.settings_note": "其余生成设置来自“设置”页面：{decoding}、系统提示词和思考模式。",
    "batch.start": "开始",
    "batch.need_dataset": "请添加数据集文件（或包含数据集文件的 zip）。",
    "batch.need_server_file": "请选择服务器上的数据集文件。",
    "batch.server_refused": "只有管理员可以用服务器运行批量评测。",
    # The runs
    "batch.no_runs": "还没有运行。上传数据集后点击“开始”。",
    "batch.your_runs": "你的运行（{count}）",
    "batch.run_help": "{checkpoint}，开始于 {when}",
    "batch.run_caption": "模型：{checkpoint} · 开始于 {when}",
    "batch.progress": "已回答 {done} / {total} 个问题 · {errors}",
    "batch.errors_none": "没有错误",
    "batch.errors_some": "错误：{count}",
    "batch.loading_model": "正在加载模型：{message}",
    "batch.status.loading": "正在加载模型",
    "batch.status.running": "运行中",
    "batch.status.done": "已完成",
    "batch.status.cancelled": "已取消",
    "batch.status.interrupted": "已中断",
    "batch.status.failed": "失败",
    "batch.status.stopping": "正在取消…",
    "batch.cancel": "取消",
    "batch.cancel_help": "在正在回答的问题中途停止；已有的回答会保留。",
    "batch.interrupted_note": "这次运行进行时服务器重启了。点击“继续”会接着回答尚未回答的问题。",
    "batch.cancelled_note": "这次运行已取消。点击“继续”会接着回答尚未回答的问题。",
    "batch.run_failed": "运行因出现问题而停止。",
    "batch.resume": "继续",
    "batch.delete": "删除运行",
    # Summary and results
    "batch.metric.relaxed": "宽松匹配",
    "batch.relaxed_help": (
        "有参考答案的问题中，预测与参考答案一致的比例（忽略大小写、标点和冠词，数字相差 5% 以内算一致）。"
        "得分列为 1 表示一致，0 表示不一致。"
    ),
    "batch.metric.anls": "ANLS（平均）",
    "batch.anls_help": "平均归一化编辑距离相似度（ANLS）：文本相同为 1，相同部分不到一半时为 0。",
    "batch.metric.errors": "错误",
    "batch.metric.latency": "延迟（中位数）",
    "batch.latency_help": "每个问题的秒数；90% 的问题不超过 {p90} 秒。",
    "batch.seconds": "{value} 秒",
    "batch.wrong_only": "只看答错或失败的",
    "batch.wrong_help": "预测与参考答案不一致（按宽松匹配）的行，以及出错的行。",
    "batch.no_wrong": "没有答错或失败的行。",
    "batch.no_results": "还没有回答。",
    "batch.col.image": "图片",
    "batch.col.row": "行",
    "batch.col.question": "问题",
    "batch.col.reference": "参考答案",
    "batch.col.prediction": "预测",
    "batch.col.score": "得分",
    "batch.col.anls": "ANLS",
    "batch.col.latency": "延迟（秒）",
    "batch.col.error": "错误",
    "batch.table_cut": "显示前 {shown} 行，共 {total} 行；下载的文件包含全部行。",
    "batch.table_count": "显示 {shown} / {total} 条结果。",
    "batch.line": "第 {line} 行",
    "batch.turn": "第 {turn} 问",
    "batch.open_label": "要打开的行",
    "batch.open": "作为对话打开",
    "batch.open_help": "在对应的对话页面（图片、多图或视频）打开这一行，预测作为回答，便于仔细查看或继续追问。",
    "batch.download_jsonl": "下载 JSONL",
    "batch.download_csv": "下载 CSV",
    # Errors of the batch jobs
    "batch.folder_outside": "{path} 不是 {env} 指定文件夹中的数据集文件。",
    "batch.upload_too_big": "上传的文件超过 {limit_mb} MB（zip 按解压后的大小计算）。请少传一些文件，或请管理员调高 {env}。",
    "batch.bad_file_name": "无法使用文件名“{name}”。请重命名文件后重新上传。",
    "batch.no_dataset": "没有上传数据集文件，zip 中也没有。请添加 JSONL、JSON 或 CSV 文件。",
    "batch.many_datasets": "zip 中有 {count} 个数据集文件。请把要运行的那个作为数据集文件单独上传。",
    "batch.dataset_type": "{name} 不是数据集文件。请使用 JSONL、JSON 或 CSV。",
    "batch.zip_unreadable": "{name} 不是本应用能读取的 zip 文件。",
    "batch.zip_too_many": "{name} 有 {count} 个条目，最多允许 {limit} 个。请拆分成几个较小的 zip。",
    "batch.zip_unsafe_name": "已拒绝 {name}：其中的条目“{entry}”会被解压到所在文件夹之外。",
    "batch.zip_not_a_file": "已拒绝 {name}：其中的条目“{entry}”是链接或设备，不是文件或文件夹。",
    "batch.zip_clash": "已拒绝 {name}：其中的“{entry}”既是文件又是文件夹。",
    "batch.dataset_unreadable": "无法读取数据集文件。详情中说明了原因。",
    "batch.dataset_empty": "{name} 中没有问题。",
    "batch.dataset_gone": "数据集文件 {name} 已不在服务器上，这次运行无法继续。",
    "batch.resume_no_model": "这次运行使用的模型已不存在（服务器已重启）。请新建一次运行。",
    "batch.row_gone": "无法打开这一行：数据集文件已改变，或其媒体文件缺失。",
}
