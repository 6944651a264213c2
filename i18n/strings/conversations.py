"""The conversation list in the sidebar and the `?c=` link that brings a conversation back."""

EN = {
    "conversations.link_unavailable": (
        "That conversation link is not available in this browser, so a new conversation started."
    ),
    "conversations.title": "Conversations",
    "conversations.new": "New conversation",
    "conversations.search": "Search",
    "conversations.search_placeholder": "Words in questions or answers",
    "conversations.none_yet": "No saved conversations yet.",
    "conversations.no_match": "Nothing matches.",
    "conversations.last_change": "Last change {when}",
    "conversations.rename_label": "Rename this conversation",
    "conversations.rename": "Rename",
    "conversations.delete": "Delete",
}

ZH = {
    "conversations.link_unavailable": "这个对话链接在此浏览器中不可用，因此开始了一个新对话。",
    "conversations.title": "对话",
    "conversations.new": "新对话",
    "conversations.search": "搜索",
    "conversations.search_placeholder": "问题或回答中的词语",
    "conversations.none_yet": "还没有保存的对话。",
    "conversations.no_match": "没有匹配的对话。",
    "conversations.last_change": "最后修改于 {when}",
    "conversations.rename_label": "重命名这个对话",
    "conversations.rename": "重命名",
    "conversations.delete": "删除",
}
