"""The texts to file with Alibaba Cloud as SMS templates, one per message kind, with ${var} variables.

They read exactly like the packaged .j2 templates (tests/sms/test_aliyun.py fills them with
`RenderedSms.params` and compares), so what a handset shows does not depend on the backend.
The signature is not part of a template: Aliyun puts 【sign_name】 in front.

Alibaba Cloud does not allow a link in a variable (and a variable holds at most 35
characters), so the messages that carry an official's personal link have `*_link` variants
whose text holds the deployment's link prefix (`<web.public_url>/m/`) literally and only the
24-character token as the variable `${token}`.
"""

from __future__ import annotations

import re

# where the `*_link` texts hold the deployment's link prefix (`template_text` puts it in)
LINK_PREFIX = "{link_prefix}"
LINK_SUFFIX = "_link"

_REMINDER = "${name}同志:您负责的“${project}”项目(${code})“${node}”节点将于${due}到期,${remaining},请按期完成并上传佐证资料。"
_OWNER = (
    "${name}同志:您负责的“${project}”项目(${code})“${node}”节点已于${due}到期,现逾期${overdue}天,"
    "已列入${level}督办,请尽快完成并上传佐证资料。"
)
_LEAD_LEADER = (
    "${name}同志:您牵头的“${project}”项目(${code})“${node}”节点(${unit}${owner}负责)已于${due}到期,"
    "现逾期${overdue}天,已列入${level}督办,请督促落实。"
)
_CONTACT = "如有疑问请联系${contact}。"
_LINK = f" {LINK_PREFIX}${{token}}"

# message kind (the `[sms.aliyun] templates` key) -> template text to file with the provider
TEMPLATE_TEXTS: dict[str, str] = {
    "reminder": _REMINDER + _CONTACT,
    "escalation_owner": _OWNER + _CONTACT,
    "escalation_lead_leader": _LEAD_LEADER + _CONTACT,
    "escalation_supervisor": (
        "${name}:“${project}”项目(${code})“${node}”节点(${unit}${owner}负责)已于${due}到期,"
        "现逾期${overdue}天,已升级为${level}督办,请在督办台跟进。"
    ),
    # with `web.public_url` set: the same messages ending with the official's link
    "reminder_link": _REMINDER + _LINK,
    "escalation_owner_link": _OWNER + _LINK,
    "escalation_lead_leader_link": _LEAD_LEADER + _LINK,
    # the officials' side (only with `web.public_url`)
    "sign_in_code": "您的督办事项登录验证码为${passcode},${minutes}分钟内有效。如非本人操作请忽略。",
    "request_returned_link": "${name}同志:您对“${project}”项目“${node}”节点的申报已退回,原因:${reason}" + _LINK,
    "reply_acknowledged_link": (
        "${name}同志:已收到您“${project}”项目“${node}”节点完成的回复,待督查室审核,请通过链接补充佐证资料。" + _LINK
    ),
}

# the outbox's template names that differ from the kind names of the configuration
_KIND_OF_TEMPLATE = {"escalation_supervisors": "escalation_supervisor"}

# kinds only the officials' side sends (sign-in code, returned request, reply acknowledgement):
# required only when web.public_url is set; the last two always carry the link
OFFICIALS_KINDS = ("sign_in_code", "request_returned_link", "reply_acknowledged_link")

_VARIABLE = re.compile(r"\$\{(\w+)\}")


def kind_of(template: str, *, linked: bool = False) -> str:
    """The `[sms.aliyun] templates` key for an outbox row's template name (its link variant
    when the message carries the official's link)."""
    kind = _KIND_OF_TEMPLATE.get(template, template)
    return kind + LINK_SUFFIX if linked else kind


def link_kinds(kinds: list[str]) -> list[str]:
    """The link variants of those of `kinds` that have one."""
    return [kind + LINK_SUFFIX for kind in kinds if kind + LINK_SUFFIX in TEMPLATE_TEXTS]


def template_text(kind: str, link_prefix: str | None = None) -> str:
    """The text to file for `kind`; a `*_link` text holds `link_prefix` (`<public_url>/m/`)."""
    text = TEMPLATE_TEXTS[kind]
    if LINK_PREFIX in text:
        if not link_prefix:
            raise ValueError(f"{kind}: a link template needs the deployment's link prefix")
        text = text.replace(LINK_PREFIX, link_prefix)
    return text


def variables(kind: str) -> list[str]:
    """The ${var} names of a kind's template text, in order of appearance."""
    return _VARIABLE.findall(TEMPLATE_TEXTS[kind])


def fill(kind: str, params: dict[str, str], link_prefix: str | None = None) -> str:
    """The text the provider makes of `kind`'s template and `params` (without the signature)."""
    return _VARIABLE.sub(lambda match: params[match.group(1)], template_text(kind, link_prefix))
