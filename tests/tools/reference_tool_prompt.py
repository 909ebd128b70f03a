#!/usr/bin/env python3
"""Golden tool prompts for test_tool_calls, rendered by Jinja2 from the reference templates:
golden/llama31_tools.jinja (Meta's Llama 3.1 chat template: system, tool list in the first user
message, ipython results) and the Qwen3 tokenizer_config.json chat_template from the data cache
(Hermes-style <tools>/<tool_call>, the layout of the project's ChatML tool prompt). `tojson` is
Hugging Face's (json.dumps, ensure_ascii=False). The tool dict is written with sorted keys, as
nlohmann::json orders them.

  python3 tests/tools/reference_tool_prompt.py [~/.cache/kanana-workbench]
"""
import json, os, sys
import jinja2

here = os.path.dirname(os.path.abspath(__file__))
cache = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/kanana-workbench")

def tojson(x, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)

env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
tool = {"function": {"description": "Current weather in a city", "name": "get_weather",
                     "parameters": {"properties": {"city": {"description": "도시 이름", "type": "string"},
                                                   "unit": {"enum": ["c", "f"], "type": "string"}},
                                    "required": ["city"], "type": "object"}}, "type": "function"}
msgs = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "서울 날씨 어때?"}]

llama = env.from_string(open(os.path.join(here, "golden", "llama31_tools.jinja")).read())
qwen = env.from_string(json.load(open(os.path.join(cache, "tokenizers", "qwen3", "tokenizer_config.json")))["chat_template"])
outputs = {
    "llama31_tools.txt": llama.render(messages=msgs, tools=[tool], bos_token="<|begin_of_text|>",
                                      add_generation_prompt=True, date_string="26 Jul 2024"),
    "chatml_tools_system.txt": qwen.render(messages=msgs, tools=[tool], add_generation_prompt=True),
    "chatml_tools_nosystem.txt": qwen.render(messages=msgs[1:], tools=[tool], add_generation_prompt=True),
}
for name, text in outputs.items():
    with open(os.path.join(here, "golden", name), "w", encoding="utf-8", newline="") as f:
        f.write(text)
    print(name, len(text))
