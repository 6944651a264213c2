"""Problems with an uploaded image or video, said in the user's words (the technical part goes to details)."""

EN = {
    "media.image.empty": "This file is empty.",
    "media.image.missing": "The image file {name} does not exist.",
    "media.image.too_big_to_open": (
        "This image is too large to open safely. Use an image of at most {limit_mp} megapixels "
        "(for example, scale it down before uploading)."
    ),
    "media.image.too_many_pixels": (
        "This image is {width}×{height} pixels ({megapixels} megapixels); the limit is {limit_mp} megapixels. "
        "Scale it down and upload it again."
    ),
    "media.image.not_an_image": "{name} is not an image this app can read. Use a PNG, JPEG, WebP, GIF or BMP file.",
    # An upload has no path to name: the picker says this instead (its file name goes in front).
    "media.image.upload_not_an_image": (
        "This file is not an image this app can read. Use a PNG, JPEG, WebP, GIF or BMP file."
    ),
    "media.image.no_pixels": "This image has no pixels ({width}×{height}).",
    "media.image.damaged": "This image is damaged or incomplete. Try saving it again, or use another file.",
    "media.video.empty": "This video file is empty.",
    "media.video.missing": "The video file '{name}' does not exist.",
    "media.video.no_picture": (
        "This file has no picture track (it may hold sound only), so there is nothing to show the model. "
        "Upload a video with pictures."
    ),
    "media.video.unreadable": "This file is not a video this app can read. Use one of: {formats}.",
    "media.video.no_frames": "This video has no frames.",
    "media.video.no_frame_rate": "This video does not say its frame rate, so its frames cannot be placed in time.",
    "media.video.frame_count": "The number of frames must be between 1 and {max_frames}, not {count}.",
    "media.video.negative_time": "Start and end times cannot be negative.",
    "media.video.empty_range": (
        "The chosen part of the video is empty: the end ({end}) must come after the start ({start}). "
        "Move one of the two."
    ),
    "media.video.range_outside": "The chosen part starts at {start}, after the end of this {duration} video.",
    "media.video.damaged": (
        "This video is damaged at the chosen frames and could not be decoded. Try another part or another file."
    ),
}

ZH = {
    "media.image.empty": "这个文件是空的。",
    "media.image.missing": "图片文件 {name} 不存在。",
    "media.image.too_big_to_open": "这张图片太大，无法安全打开。请使用不超过 {limit_mp} 百万像素的图片（例如先缩小再上传）。",
    "media.image.too_many_pixels": (
        "这张图片为 {width}×{height} 像素（{megapixels} 百万像素），上限是 {limit_mp} 百万像素。请缩小后重新上传。"
    ),
    "media.image.not_an_image": "{name} 不是本应用能读取的图片。请使用 PNG、JPEG、WebP、GIF 或 BMP 文件。",
    "media.image.upload_not_an_image": "这个文件不是本应用能读取的图片。请使用 PNG、JPEG、WebP、GIF 或 BMP 文件。",
    "media.image.no_pixels": "这张图片没有像素（{width}×{height}）。",
    "media.image.damaged": "这张图片已损坏或不完整。请重新保存后再试，或换一个文件。",
    "media.video.empty": "这个视频文件是空的。",
    "media.video.missing": "视频文件“{name}”不存在。",
    "media.video.no_picture": "这个文件没有画面（可能只有声音），模型无从观看。请上传带画面的视频。",
    "media.video.unreadable": "这个文件不是本应用能读取的视频。请使用以下格式之一：{formats}。",
    "media.video.no_frames": "这个视频没有任何帧。",
    "media.video.no_frame_rate": "这个视频没有标明帧率，无法确定各帧的时间位置。",
    "media.video.frame_count": "帧数必须在 1 到 {max_frames} 之间，而不是 {count}。",
    "media.video.negative_time": "开始和结束时间不能为负数。",
    "media.video.empty_range": "所选的视频片段为空：结束时间（{end}）必须晚于开始时间（{start}）。请调整其中一个。",
    "media.video.range_outside": "所选片段从 {start} 开始，已超过这段 {duration} 视频的结尾。",
    "media.video.damaged": "这个视频在所选帧处已损坏，无法解码。请换一个片段或文件。",
}
