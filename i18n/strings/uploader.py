"""Streamlit's own words in a file uploader, put in the visitor's language (see components.uploader_text)."""

EN = {
    "uploader.button": "Upload",
    "uploader.limit": "{size} per file",
    "uploader.limit_types": "{limit} • {types}",
}

ZH = {
    "uploader.button": "上传",
    "uploader.limit": "每个文件不超过 {size}",
    "uploader.limit_types": "{limit} • {types}",
}
