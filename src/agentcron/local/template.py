"""template.yaml as data: a loader for CloudFormation short tags and a resolver of intrinsic functions.

Short tags (``!Ref X``, ``!GetAtt A.B``, ``!Sub ...``) load as their long form (``{"Ref": "X"}``, ...), so
code reads one shape. The resolver evaluates the intrinsics the data resources use against what the local
stack has created so far; a reference to something not created yet raises ``Unresolved``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


def default_template_path() -> Path:
    """template.yaml at the root of the source tree this package is installed from."""
    return Path(__file__).resolve().parents[3] / "template.yaml"


class _TemplateLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation short tags (``!Ref X``) as their long form (``{"Ref": X}``)."""


def _short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_TemplateLoader.add_multi_constructor("!", _short_tag)


def load_template(path: str | Path | None = None) -> dict[str, Any]:
    """The template as plain data; short intrinsic tags become their ``Fn::`` long form."""
    text = Path(path or default_template_path()).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource definition for every resource of ``resource_type``, in template order."""
    return {
        logical_id: resource
        for logical_id, resource in (template.get("Resources") or {}).items()
        if resource.get("Type") == resource_type
    }


def parameter_defaults(template: dict[str, Any]) -> dict[str, Any]:
    return {
        name: spec.get("Default")
        for name, spec in (template.get("Parameters") or {}).items()
        if "Default" in spec
    }


# --------------------------------------------------------------------------- intrinsic functions


class Resolver:
    """Resolves the intrinsic functions the data resources use, against what was created so far."""

    def __init__(self, template: dict[str, Any], region: str, account: str = "123456789012") -> None:
        self.template = template
        self.region = region
        self.account = account
        self.parameters = parameter_defaults(template)
        self.refs: dict[str, str] = {}  # logical id -> Ref value (table/bucket name, queue url)
        self.attrs: dict[tuple[str, str], str] = {}  # (logical id, attribute) -> value

    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "agentcron",
            "AWS::NoValue": None,
        }.get(name)

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name.startswith("AWS::"):
            return self.pseudo(name)
        raise Unresolved(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        try:
            return self.attrs[(logical_id, attribute)]
        except KeyError:
            raise Unresolved(f"{logical_id}.{attribute}") from None

    def condition(self, name: str) -> bool:
        return bool(self.resolve((self.template.get("Conditions") or {})[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                result = self.ref(arg)
                return NO_VALUE if result is None and arg == "AWS::NoValue" else result
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(v) for v in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::FindInMap":
                mapping, top, second = (str(self.resolve(v)) for v in arg)
                return self.template["Mappings"][mapping][top][second]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key.startswith("Fn::"):
                raise Unresolved(key)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)


class Unresolved(LookupError):
    """A reference to something not created (yet): a resource that depends on it waits for another pass."""


NO_VALUE = object()
