"""Problems outside the media files: loading a checkpoint, answering, the server, the store, conversations, settings.

Each message says what happened and what to do; the technical part (a library's words, an
exception, a server's reply) is the error's `detail`, shown folded away under "Details".
"""

EN = {
    # -- any error: words a caller passed as they are (callers not converted to keys yet) ----------------------------
    "errors.as_written": "{message}",
    # -- loading a checkpoint ---------------------------------------------------------------------------------------
    "load.unexpected": (
        "Loading {checkpoint} failed for a reason this app does not know. "
        "Try again, or choose another checkpoint; the details below help to report it."
    ),
    "load.transformers_version": (
        "InternVL checkpoints need transformers 4.37.2 to 4.51.x, but {version} is installed "
        "(from 4.52 on, several of them can no longer generate). Fix it with: pip install transformers=={pin}"
    ),
    "load.not_found": (
        "Could not find the checkpoint {checkpoint}: it is not a folder on this machine, a name from the catalog, "
        "a hub id (owner/name), 'demo' or 'demo-<family>'. Check the spelling or the folder's path."
    ),
    "load.untrusted_code": (
        "{checkpoint} is not in the catalog. InternVL checkpoints run Python code that ships with them, with your "
        "permissions; only allow that for repositories you trust. To load it, turn on 'Allow the checkpoint's own "
        "code' (allow_remote_code), or download it and use the local folder."
    ),
    "load.no_config": (
        "The folder {path} is not a model checkpoint: it has no config.json. Choose the folder that holds the "
        "checkpoint's files (config.json and the weights)."
    ),
    "load.config_unreadable": (
        "The checkpoint {checkpoint} is damaged: its config.json cannot be read. Download it again, or choose "
        "another checkpoint."
    ),
    "load.not_internvl": (
        "{checkpoint} is not an InternVL chat checkpoint this app can load itself (its config.json has no "
        "auto_map / llm_config). Native '-hf' checkpoints work through an OpenAI-compatible server: start one "
        "and choose it on the Settings page."
    ),
    "load.quantization_refused": (
        "{checkpoint} cannot be loaded in 4-bit: its large InternViT-6B vision encoder gives wrong results in "
        "4-bit (the InternVL quick start warns about this). Use 8-bit instead, or turn on 'force 4-bit' to try anyway."
    ),
    "load.out_of_memory": (
        "{checkpoint} does not fit into GPU memory. Try 8-bit or 4-bit, a split over several GPUs, or a smaller model."
    ),
    "load.out_of_memory_estimate": (
        "{checkpoint} does not fit into GPU memory (it needs about {gb} GB). Try 8-bit or 4-bit, a split over "
        "several GPUs, or a smaller model."
    ),
    "load.failed": (
        "Could not load {checkpoint}: its files could not be read as a model. They may be incomplete or damaged "
        "(for example by a download that was cut off): download the checkpoint again, or choose another one."
    ),
    "load.server_only": (
        "{checkpoint} cannot run inside this app ({reason}): it has to be served by an OpenAI-compatible server "
        "(such as vLLM or LMDeploy). Start one for it, then choose the OpenAI-compatible server as the backend on "
        "the Settings page (or pass --server to the CLI)."
    ),
    "load.no_gpu": "The GPU (cuda) was asked for, but no GPU is visible. Choose 'auto' or 'cpu'.",
    "load.split_too_few_gpus": (
        "Splitting a model over GPUs needs at least 2 GPUs; this machine has {count}. Choose 'cuda' or 'auto' "
        "instead, or a smaller model or quantization."
    ),
    "load.split_no_layers": (
        "This checkpoint's language model has no layers to split ({count}): its config.json may be damaged."
    ),
    "load.bitsandbytes_missing": (
        "Loading in 8-bit or 4-bit needs the bitsandbytes package, which is not installed. Install it "
        "(pip install bitsandbytes), or load the model without quantization."
    ),
    "load.hub_unreachable": (
        "Could not reach the Hugging Face hub to download {repo}. Check the network, or use a local folder, "
        "or the offline demo checkpoint."
    ),
    "load.hub_offline": (
        "Could not download {repo}: this app is set to work offline (HF_HUB_OFFLINE is set). Use a local folder "
        "or the offline demo checkpoint, or unset HF_HUB_OFFLINE."
    ),
    "load.hub_gated": (
        "{repo} is a gated repository: accept its terms on huggingface.co and log in (`huggingface-cli login`), "
        "or use a local folder."
    ),
    "load.hub_not_found": (
        "{repo} was not found on the Hugging Face hub (or it is private). Check the spelling, or use a local "
        "folder, or the offline demo checkpoint."
    ),
    "load.hub_download_failed": "Downloading {repo} failed before it was complete. Try again, or use a local folder.",
    "load.code_quirk": (
        "{checkpoint}'s own code ({file}, line {line}) failed under transformers {version}. This is an "
        "incompatibility between the checkpoint's code and this transformers version that InternVL Studio has no "
        "fix for yet. Try: transformers=={pin} if another version is installed (python -m model_backend doctor "
        "checks it); the checkpoint's latest code files from its hub page; or the server backend (LMDeploy or "
        "vLLM) for this model. Please report it with the checkpoint's name and the details below."
    ),
    "load.server_refused": (
        "Only an admin can point this app at an OpenAI-compatible server. Use one of the checkpoints this "
        "server offers, or ask an admin."
    ),
    "load.pool_full": (
        "{checkpoint} needs about {needed} GB, and the memory budget of {budget} GB is held by models that are "
        "answering right now ({answering}). Try again when they finish."
    ),
    # -- answering with a checkpoint loaded here --------------------------------------------------------------------
    "engine.context_full": (
        "This question does not fit into what the model can read at once: the prompt is {prompt_tokens:,} tokens, "
        "the answer may take up to {answer_tokens:,} more, and the model's context window is {limit:,} tokens. "
        "Ask a shorter question, lower the answer length (max new tokens), or start a new conversation."
    ),
    "engine.context_full_images": (
        "This question does not fit into what the model can read at once: the prompt is {prompt_tokens:,} tokens "
        "({image_tokens:,} of them for the images or video frames), the answer may take up to {answer_tokens:,} more, "
        "and the model's context window is {limit:,} tokens. Attach fewer images, or use fewer tiles or video "
        "frames; or ask a shorter question, or start a new conversation."
    ),
    "engine.image_marker": (
        "The question contains '<image>' or another image marker, which the model reserves for pictures. "
        "Remove it from the question and send it again."
    ),
    "engine.out_of_memory": (
        "The model ran out of memory while answering. Use fewer tiles or video frames, start a new conversation "
        "(a long one takes more memory), or load the model in 8-bit or 4-bit."
    ),
    "engine.failed": (
        "Generation failed: the model stopped with an error while answering. Try again; if it keeps failing, "
        "try another checkpoint. The details below say what went wrong."
    ),
    "engine.unexpected": (
        "Answering failed for a reason this app does not know. Try again; the details below help to report it."
    ),
    # -- answering through an OpenAI-compatible server --------------------------------------------------------------
    "remote.cannot_connect": (
        "Could not connect to the server at {url}. It may have stopped, or the address may be wrong: start the "
        "server (or correct its address on the Settings page), then send the question again."
    ),
    "remote.no_reply": (
        "The server at {url} did not answer in time. Check that the address is right and that the server is running."
    ),
    "remote.transport_failed": (
        "Talking to the server at {url} failed. Check that the address is right and that the server is running; "
        "the details below say what went wrong."
    ),
    "remote.timeout": (
        "The server at {url} did not answer within {seconds} s. It may be busy or still loading the model: "
        "wait a little, then send the question again."
    ),
    "remote.stalled": (
        "The server at {url} stopped sending the answer for more than {seconds} s, so the answer is incomplete. "
        "Send the question again."
    ),
    "remote.connection_lost": (
        "The connection to the server at {url} was lost in the middle of the answer, so the answer is incomplete. "
        "If the server stopped, start it again; then send the question again."
    ),
    "remote.unfinished": (
        "The server at {url} ended the answer before it was finished, so it is incomplete. Send the question "
        "again; if it keeps happening, check the server's log."
    ),
    "remote.not_a_model_list": (
        "The server at {url} answered the request for its models with something that is not a model list. "
        "Check that the address points to an OpenAI-compatible server."
    ),
    "remote.prepare_failed": (
        "The images or the video could not be prepared for sending to the server. Try another file."
    ),
    "remote.api_key": "The server at {url} did not accept the API key. Check the API key on the Settings page.",
    "remote.unknown_model": (
        "The server does not serve the model {model}; it serves: {served}. Choose one of these on the Settings page."
    ),
    "remote.no_models": "The server does not serve the model {model}; it serves no model at all. Check the server.",
    "remote.no_endpoint": (
        "The server at {url} has no such endpoint or model (404). Check the address: give the server's base "
        "address, such as http://host:port."
    ),
    "remote.rejected": (
        "The server at {url} refused the request. Check the settings (for example the answer length) and try "
        "again; the details below give the server's reason."
    ),
    "remote.server_failed": "The server at {url} had an internal error. Check the server's log, then send the question again.",
    "remote.failed_mid": (
        "The server failed while answering, so the answer is incomplete. Send the question again; if it keeps "
        "failing, check the server's log."
    ),
    "remote.malformed": (
        "The server sent something this app cannot read in the middle of the answer, so the answer is incomplete. "
        "Check that the address points to an OpenAI-compatible server, and look at its log."
    ),
    "remote.too_many_images": (
        "The server takes at most {limit} images in one request, and this question needs more: every image and "
        "video frame of the conversation is sent again with each question. Start a new conversation or send fewer "
        "images or frames, or ask the admin to raise the server's --limit-mm-per-prompt."
    ),
    "remote.context_full": (
        "This question does not fit into what the model on the server can read at once: the request needs "
        "{tokens} tokens and the model's context window is {limit} tokens. Ask a shorter question, attach fewer "
        "images or video frames, lower the answer length (max new tokens), or start a new conversation."
    ),
    "remote.context_full_unknown": (
        "This question does not fit into what the model on the server can read at once (its context window). "
        "Ask a shorter question, attach fewer images or video frames, lower the answer length (max new tokens), "
        "or start a new conversation."
    ),
    # -- the conversation store -------------------------------------------------------------------------------------
    "store.deleted": "This conversation no longer exists (it was deleted). Start a new conversation.",
    "store.full": (
        "The conversation storage is full ({quota} GB), so this was not saved. Delete conversations you no longer "
        "need from the conversation list, or ask the admin to raise {env}."
    ),
    "store.media_missing": (
        "A picture or video of this conversation is missing from the app's storage, so the conversation cannot "
        "be opened. The details below name the missing file."
    ),
    "store.disk_full": (
        "The server's disk is full, so this was not saved. What is on screen stays until you leave the page: "
        "ask the admin to free space on the server, then send it again."
    ),
    "store.read_only": (
        "The app's data folder cannot be written on the server, so nothing can be saved. Ask the admin to make "
        "the data folder (INTERNVL_DATA_DIR) writable for the app, then reload the page."
    ),
    "store.failed": (
        "The app's conversation storage failed on the server, so this was not saved. What is on screen stays "
        "until you leave the page: try again, and if it keeps failing, tell the admin."
    ),
    # -- a conversation and its import ------------------------------------------------------------------------------
    "conversation.frames": "The number of video frames must be between 1 and {max_frames}, not {count}.",
    "conversation.tiles_per_frame": (
        "The number of tiles per frame of a video must be between 1 and {max_tiles}, not {count}."
    ),
    "conversation.time_range": (
        "The chosen part of the video ends ({end} s) before it starts ({start} s). Move the start or the end."
    ),
    "conversation.images_and_video": "A question can carry images or a video, not both. Remove one of them.",
    "conversation.empty_question": "The question is empty: type a question first.",
    "conversation.nothing_pending": "There is no question waiting for an answer.",
    "conversation.still_answering": "This conversation is still answering: stop it first.",
    "conversation.import_not_json": (
        "This file is not a conversation exported by InternVL Studio: its content is not JSON. Choose a file "
        "that was saved with this app's Export button."
    ),
    "conversation.import_foreign": (
        "This file holds JSON, but not a conversation exported by InternVL Studio: it probably comes from another "
        "program. Choose a file that was saved with this app's Export button."
    ),
    "conversation.import_damaged": (
        "This conversation export is damaged: it is incomplete (cut off) or was changed after it was exported, "
        "so it cannot be opened. Export the conversation again, or choose another file."
    ),
    "conversation.import_too_big": (
        "This file is larger than an export this app takes ({megabytes} MB). Choose a smaller export."
    ),
    "conversation.import_version": (
        "This conversation was exported in a format this version of InternVL Studio cannot read (format "
        "version {version}). Update the app, or export the conversation again with this version."
    ),
    # -- settings out of range --------------------------------------------------------------------------------------
    "invalid.checkpoint": "No checkpoint given: give a catalog name, a hub id, a folder or 'demo'.",
    "invalid.server_url": "The server address must start with http:// or https:// ({url} does not).",
    "invalid.range": "{name} must be between {low} and {high}, not {value}.",
    "invalid.choice": "{name} must be one of {choices}, not {value}.",
}

ZH = {
    "errors.as_written": "{message}",
    "load.unexpected": "加载 {checkpoint} 失败，原因不明。请重试或换一个模型权重；下方的详细信息可用于报告问题。",
    "load.transformers_version": (
        "InternVL 模型权重需要 transformers 4.37.2 到 4.51.x，但当前安装的是 {version}（从 4.52 起，其中一些已无法生成回答）。"
        "修复方法：pip install transformers=={pin}"
    ),
    "load.not_found": (
        "找不到模型权重 {checkpoint}：它既不是本机上的文件夹，也不是模型目录中的名称、模型仓库 id（owner/name）、'demo' 或 "
        "'demo-<family>'。请检查拼写或文件夹路径。"
    ),
    "load.untrusted_code": (
        "{checkpoint} 不在模型目录中。InternVL 模型权重会以你的权限运行随附的 Python 代码，只应对你信任的仓库允许这样做。"
        "要加载它，请打开“允许运行模型权重自带的代码”（allow_remote_code），或者先下载它，再使用本地文件夹。"
    ),
    "load.no_config": "文件夹 {path} 不是模型权重：里面没有 config.json。请选择存放模型权重文件（config.json 和权重文件）的文件夹。",
    "load.config_unreadable": "模型权重 {checkpoint} 已损坏：无法读取它的 config.json。请重新下载，或换一个模型权重。",
    "load.not_internvl": (
        "{checkpoint} 不是本应用能直接加载的 InternVL 对话模型权重（它的 config.json 中没有 auto_map / llm_config）。"
        "原生的“-hf”模型权重需要通过兼容 OpenAI 接口的服务器使用：请启动一个服务器，并在“设置”页面选择它。"
    ),
    "load.quantization_refused": (
        "{checkpoint} 不能以 4-bit 加载：它较大的 InternViT-6B 视觉编码器在 4-bit 下会给出错误结果（InternVL 快速入门中对此有警告）。"
        "请改用 8-bit，或打开“强制 4-bit”仍然尝试。"
    ),
    "load.out_of_memory": "{checkpoint} 放不进 GPU 显存。请尝试 8-bit 或 4-bit、拆分到多块 GPU，或换一个更小的模型。",
    "load.out_of_memory_estimate": (
        "{checkpoint} 放不进 GPU 显存（大约需要 {gb} GB）。请尝试 8-bit 或 4-bit、拆分到多块 GPU，或换一个更小的模型。"
    ),
    "load.failed": (
        "无法加载 {checkpoint}：它的文件无法作为模型读取。文件可能不完整或已损坏（例如下载中断）：请重新下载该模型权重，或换一个。"
    ),
    "load.server_only": (
        "{checkpoint} 无法在本应用内运行（{reason}）：它需要由兼容 OpenAI 接口的服务器（例如 vLLM 或 LMDeploy）提供。"
        "请为它启动一个服务器，然后在“设置”页面把后端改为兼容 OpenAI 接口的服务器（命令行中使用 --server）。"
    ),
    "load.no_gpu": "设置要求使用 GPU（cuda），但没有检测到 GPU。请选择“auto”或“cpu”。",
    "load.split_too_few_gpus": (
        "把模型拆分到多块 GPU 上至少需要 2 块 GPU，而这台机器只有 {count} 块。请改选“cuda”或“auto”，或者换更小的模型或使用量化。"
    ),
    "load.split_no_layers": "该模型权重的语言模型没有可拆分的层（{count}）：它的 config.json 可能已损坏。",
    "load.bitsandbytes_missing": (
        "以 8-bit 或 4-bit 加载需要 bitsandbytes 软件包，但它没有安装。请安装它（pip install bitsandbytes），或者不使用量化加载模型。"
    ),
    "load.hub_unreachable": "无法连接 Hugging Face 模型仓库来下载 {repo}。请检查网络，或使用本地文件夹或离线演示模型。",
    "load.hub_offline": (
        "无法下载 {repo}：本应用被设置为离线工作（设置了 HF_HUB_OFFLINE）。请使用本地文件夹或离线演示模型，或取消 HF_HUB_OFFLINE。"
    ),
    "load.hub_gated": (
        "{repo} 是受限仓库：请在 huggingface.co 上接受它的使用条款并登录（`huggingface-cli login`），或使用本地文件夹。"
    ),
    "load.hub_not_found": (
        "在 Hugging Face 模型仓库中找不到 {repo}（也可能它是私有的）。请检查拼写，或使用本地文件夹或离线演示模型。"
    ),
    "load.hub_download_failed": "下载 {repo} 时中途失败。请重试，或使用本地文件夹。",
    "load.code_quirk": (
        "{checkpoint} 自带的代码（{file} 第 {line} 行）在 transformers {version} 下出错。这是该模型权重的代码与当前 transformers "
        "版本不兼容，InternVL Studio 暂时还没有解决办法。可以尝试：如果安装的是其他版本，改用 transformers=={pin}"
        "（python -m model_backend doctor 可以检查）；从模型仓库页面获取该模型权重最新的代码文件；或者为这个模型使用服务器后端"
        "（LMDeploy 或 vLLM）。请连同模型权重名称和下方的详细信息一起报告此问题。"
    ),
    "load.server_refused": "只有管理员才能让本应用使用兼容 OpenAI 接口的服务器。请使用本服务器提供的模型权重，或联系管理员。",
    "load.pool_full": (
        "{checkpoint} 大约需要 {needed} GB，而 {budget} GB 的内存预算正被正在回答的模型占用（{answering}）。请等它们回答完再试。"
    ),
    "engine.context_full": (
        "这个问题超出了模型一次能读取的长度：提示词有 {prompt_tokens:,} 个 token，回答最多还可能需要 {answer_tokens:,} 个，"
        "而模型的上下文窗口只有 {limit:,} 个 token。请缩短问题、调低回答长度（最大新 token 数），或开始新的对话。"
    ),
    "engine.context_full_images": (
        "这个问题超出了模型一次能读取的长度：提示词有 {prompt_tokens:,} 个 token（其中 {image_tokens:,} 个用于图片或视频帧），"
        "回答最多还可能需要 {answer_tokens:,} 个，而模型的上下文窗口只有 {limit:,} 个 token。请少附几张图片，或减少切块数或视频帧数；"
        "也可以缩短问题，或开始新的对话。"
    ),
    "engine.image_marker": "问题中包含“<image>”或其他图片标记，这些标记是模型专门留给图片的。请从问题中删除它，然后重新发送。",
    "engine.out_of_memory": (
        "模型在回答时内存不足。请减少切块数或视频帧数，开始新的对话（对话越长占用的内存越多），或以 8-bit 或 4-bit 加载模型。"
    ),
    "engine.failed": "生成失败：模型在回答时出错停止了。请重试；如果一直失败，请换一个模型权重。下方的详细信息说明了出错原因。",
    "engine.unexpected": "回答失败，原因不明。请重试；下方的详细信息可用于报告问题。",
    "remote.cannot_connect": (
        "无法连接到服务器 {url}。它可能已经停止，或者地址有误：请启动服务器（或在“设置”页面改正地址），然后重新发送问题。"
    ),
    "remote.no_reply": "服务器 {url} 没有及时响应。请检查地址是否正确、服务器是否在运行。",
    "remote.transport_failed": "与服务器 {url} 通信失败。请检查地址是否正确、服务器是否在运行；下方的详细信息说明了出错原因。",
    "remote.timeout": "服务器 {url} 在 {seconds} 秒内没有回应。它可能正忙或仍在加载模型：请稍等片刻，然后重新发送问题。",
    "remote.stalled": "服务器 {url} 超过 {seconds} 秒没有继续发送回答，因此回答不完整。请重新发送问题。",
    "remote.connection_lost": (
        "回答到一半时，与服务器 {url} 的连接断开了，因此回答不完整。如果服务器已停止，请重新启动它，然后重新发送问题。"
    ),
    "remote.unfinished": "服务器 {url} 在回答完成前就结束了，因此回答不完整。请重新发送问题；如果反复出现，请查看服务器日志。",
    "remote.not_a_model_list": "服务器 {url} 对模型列表请求的回应不是模型列表。请检查该地址指向的是兼容 OpenAI 接口的服务器。",
    "remote.prepare_failed": "无法准备要发送给服务器的图片或视频。请换一个文件试试。",
    "remote.api_key": "服务器 {url} 不接受这个 API 密钥。请在“设置”页面检查 API 密钥。",
    "remote.unknown_model": "服务器没有提供模型 {model}；它提供的是：{served}。请在“设置”页面从中选择一个。",
    "remote.no_models": "服务器没有提供模型 {model}；它没有提供任何模型。请检查服务器。",
    "remote.no_endpoint": "服务器 {url} 上没有这个接口或模型（404）。请检查地址：应填写服务器的基础地址，例如 http://host:port。",
    "remote.rejected": "服务器 {url} 拒绝了这个请求。请检查设置（例如回答长度）后重试；下方的详细信息给出了服务器的理由。",
    "remote.server_failed": "服务器 {url} 发生了内部错误。请查看服务器日志，然后重新发送问题。",
    "remote.failed_mid": "服务器在回答时出错，因此回答不完整。请重新发送问题；如果一直失败，请查看服务器日志。",
    "remote.malformed": (
        "服务器在回答中途发来了本应用无法读取的内容，因此回答不完整。请检查该地址指向的是兼容 OpenAI 接口的服务器，并查看它的日志。"
    ),
    "remote.too_many_images": (
        "服务器每个请求最多接受 {limit} 张图片，而这个问题需要更多：对话中的每张图片和每个视频帧都会随每个问题再次发送。"
        "请开始新的对话，或少发几张图片或视频帧，或请管理员调高服务器的 --limit-mm-per-prompt。"
    ),
    "remote.context_full": (
        "这个问题超出了服务器上的模型一次能读取的长度：请求需要 {tokens} 个 token，而模型的上下文窗口只有 {limit} 个 token。"
        "请缩短问题、少附几张图片或减少视频帧数、调低回答长度（最大新 token 数），或开始新的对话。"
    ),
    "remote.context_full_unknown": (
        "这个问题超出了服务器上的模型一次能读取的长度（上下文窗口）。请缩短问题、少附几张图片或减少视频帧数、调低回答长度"
        "（最大新 token 数），或开始新的对话。"
    ),
    "store.deleted": "这个对话已不存在（已被删除）。请开始一个新的对话。",
    "store.full": (
        "对话存储空间已满（{quota} GB），因此这次没有保存。请在对话列表中删除不再需要的对话，或请管理员调高 {env}。"
    ),
    "store.media_missing": "这个对话中的某张图片或某段视频在应用的存储中找不到了，因此无法打开这个对话。下方的详细信息列出了缺失的文件。",
    "store.disk_full": "服务器磁盘已满，因此这次没有保存。离开页面之前，屏幕上的内容都会保留：请管理员清理服务器磁盘空间后再发送一次。",
    "store.read_only": "服务器上的应用数据文件夹无法写入，因此无法保存任何内容。请管理员让应用可以写入数据文件夹（INTERNVL_DATA_DIR），然后刷新页面。",
    "store.failed": "服务器上的对话存储出错，因此这次没有保存。离开页面之前，屏幕上的内容都会保留：请再试一次；如果一直失败，请告诉管理员。",
    "conversation.frames": "视频帧数必须在 1 到 {max_frames} 之间，而不是 {count}。",
    "conversation.tiles_per_frame": "视频每帧的切块数必须在 1 到 {max_tiles} 之间，而不是 {count}。",
    "conversation.time_range": "所选视频片段的结束时间（{end} 秒）早于开始时间（{start} 秒）。请调整开始或结束时间。",
    "conversation.images_and_video": "一个问题只能附带图片或视频，不能同时附带两者。请移除其中一种。",
    "conversation.empty_question": "问题是空的：请先输入一个问题。",
    "conversation.nothing_pending": "没有等待回答的问题。",
    "conversation.still_answering": "这个对话仍在回答中：请先停止它。",
    "conversation.import_not_json": "这个文件不是 InternVL Studio 导出的对话：它的内容不是 JSON。请选择用本应用的“导出”按钮保存的文件。",
    "conversation.import_foreign": (
        "这个文件虽然是 JSON，但不是 InternVL Studio 导出的对话：它可能来自其他程序。请选择用本应用的“导出”按钮保存的文件。"
    ),
    "conversation.import_damaged": (
        "这个对话导出文件已损坏：它不完整（被截断）或在导出后被改动过，因此无法打开。请重新导出该对话，或选择其他文件。"
    ),
    "conversation.import_too_big": "这个文件比本应用能导入的导出文件（{megabytes} MB）还大。请选择更小的导出文件。",
    "conversation.import_version": (
        "这个对话的导出格式（格式版本 {version}）是当前版本的 InternVL Studio 无法读取的。请更新应用，或用当前版本重新导出该对话。"
    ),
    "invalid.checkpoint": "没有指定模型权重：请填写模型目录中的名称、模型仓库 id、文件夹或“demo”。",
    "invalid.server_url": "服务器地址必须以 http:// 或 https:// 开头（{url} 不是）。",
    "invalid.range": "{name} 必须在 {low} 到 {high} 之间，而不是 {value}。",
    "invalid.choice": "{name} 必须是以下之一：{choices}，而不是 {value}。",
}
