"""The app's frame: the navigation between the four pages."""

EN = {
    "app.page.image_chat": "Image chat",
    "app.page.multi_image": "Multi-image compare",
    "app.page.video_qa": "Video QA",
    "app.page.settings": "Settings",
}

ZH = {
    "app.page.image_chat": "图片对话",
    "app.page.multi_image": "多图对比",
    "app.page.video_qa": "视频问答",
    "app.page.settings": "设置",
}
