"""The login gate and the access policy's refusals."""

EN = {
    "access.log_in": "Log in",
    "access.log_out": "Log out",
    "access.password": "Password",
    "access.enter": "Enter",
    "access.too_many": "Too many wrong passwords. Try again in {seconds} seconds.",
    "access.wrong_password": "That password is not right.",
    "access.not_allowed": (
        "{checkpoint} is not on this server's list of checkpoints. Choose one of the allowed or "
        "loaded checkpoints, or ask an admin to load it."
    ),
    "access.outside_roots": "Local checkpoints must be inside {roots} (INTERNVL_MODEL_ROOTS).",
}

ZH = {
    "access.log_in": "登录",
    "access.log_out": "退出登录",
    "access.password": "密码",
    "access.enter": "进入",
    "access.too_many": "密码错误次数太多，请在 {seconds} 秒后再试。",
    "access.wrong_password": "密码不对。",
    "access.not_allowed": "{checkpoint} 不在这台服务器允许使用的模型列表中。请选择一个允许的或已加载的模型，或者请管理员加载它。",
    "access.outside_roots": "本地模型必须放在 {roots} 之内（由 INTERNVL_MODEL_ROOTS 设置）。",
}
