"""The texts to file with Alibaba Cloud as SMS templates, one per message kind, with ${var} variables.

They read exactly like the packaged .j2 templates (tests/sms/test_aliyun_templates.py fills
them with `RenderedSms.params` and compares), so what a handset shows does not depend on
the backend. The signature is not part of a template: Aliyun puts 【sign_name】 in front.
"""

from __future__ import annotations

import re

# message kind (the `[sms.aliyun] templates` key) -> template text to file with the provider
TEMPLATE_TEXTS: dict[str, str] = {
    "reminder": (
        "${name}同志:您负责的“${project}”项目(${code})“${node}”节点将于${due}到期,${remaining},"
        "请按期完成并上传佐证资料。如有疑问请联系${contact}。"
    ),
    "escalation_owner": (
        "${name}同志:您负责的“${project}”项目(${code})“${node}”节点已于${due}到期,现逾期${overdue}天,"
        "已列入${level}督办,请尽快完成并上传佐证资料。如有疑问请联系${contact}。"
    ),
    "escalation_lead_leader": (
        "${name}同志:您牵头的“${project}”项目(${code})“${node}”节点(${unit}${owner}负责)已于${due}到期,"
        "现逾期${overdue}天,已列入${level}督办,请督促落实。如有疑问请联系${contact}。"
    ),
    "escalation_supervisor": (
        "${name}:“${project}”项目(${code})“${node}”节点(${unit}${owner}负责)已于${due}到期,"
        "现逾期${overdue}天,已升级为${level}督办,请在督办台跟进。"
    ),
}

# the outbox's template names that differ from the kind names of the configuration
_KIND_OF_TEMPLATE = {"escalation_supervisors": "escalation_supervisor"}

# kinds only the officials' side sends (sign-in code, returned request, reply acknowledgement):
# required only when web.public_url is set
OFFICIALS_KINDS = ("sign_in_code", "request_returned", "reply_acknowledged")

_VARIABLE = re.compile(r"\$\{(\w+)\}")


def kind_of(template: str) -> str:
    """The `[sms.aliyun] templates` key for an outbox row's template name."""
    return _KIND_OF_TEMPLATE.get(template, template)


def variables(kind: str) -> list[str]:
    """The ${var} names of a kind's template text, in order of appearance."""
    return _VARIABLE.findall(TEMPLATE_TEXTS[kind])


def fill(kind: str, params: dict[str, str]) -> str:
    """The text the provider makes of `kind`'s template and `params` (without the signature)."""
    return _VARIABLE.sub(lambda match: params[match.group(1)], TEMPLATE_TEXTS[kind])
