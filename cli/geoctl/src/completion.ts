// Shell completion scripts for bash, zsh and fish, generated from the command tree itself so they
// never drift from the commands: `source <(geoctl completion bash)`.
import type { Command } from "commander";

interface Node {
  path: string;
  words: string[];
}

function optionWords(command: Command): string[] {
  return command.options
    .flatMap((option) => [option.long, option.short])
    .filter((w): w is string => !!w);
}

/** Every command path ("", "flows", "flows apply", ...) with the words that may follow it. */
function commandNodes(program: Command): Node[] {
  const nodes: Node[] = [];
  const globals = optionWords(program);
  const visit = (command: Command, path: string) => {
    const subcommands = command.commands.map((sub) => sub.name());
    nodes.push({ path, words: [...subcommands, ...optionWords(command), ...globals, "--help"] });
    for (const sub of command.commands)
      visit(sub, path === "" ? sub.name() : `${path} ${sub.name()}`);
  };
  visit(program, "");
  return nodes;
}

function bash(program: Command): string {
  const nodes = commandNodes(program);
  const paths = nodes.map((node) => `"${node.path}"`).join(" ");
  const cases = nodes
    .map((node) => `    "${node.path}") words="${[...new Set(node.words)].join(" ")}" ;;`)
    .join("\n");
  return `# geoctl completion for bash (and zsh through bashcompinit)
_geoctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w candidate words i
  local -a known=(${paths})
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    candidate="\${path:+$path }$w"
    for k in "\${known[@]}"; do
      if [[ "$k" == "$candidate" ]]; then path="$candidate"; break; fi
    done
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _geoctl geoctl
`;
}

function fish(program: Command): string {
  const lines = ["# geoctl completion for fish", "complete -c geoctl -f"];
  for (const option of program.options) {
    if (option.long)
      lines.push(
        `complete -c geoctl -l ${option.long.slice(2)} -d ${JSON.stringify(option.description)}`,
      );
  }
  for (const command of program.commands) {
    lines.push(
      `complete -c geoctl -n __fish_use_subcommand -a ${command.name()} -d ${JSON.stringify(command.description())}`,
    );
    for (const sub of command.commands) {
      lines.push(
        `complete -c geoctl -n "__fish_seen_subcommand_from ${command.name()}" -a ${sub.name()} -d ${JSON.stringify(sub.description())}`,
      );
    }
    for (const option of command.options) {
      if (option.long) {
        lines.push(
          `complete -c geoctl -n "__fish_seen_subcommand_from ${command.name()}" -l ${option.long.slice(2)} -d ${JSON.stringify(option.description)}`,
        );
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

export function completionScript(program: Command, shell: string): string | undefined {
  if (shell === "bash") return bash(program);
  if (shell === "zsh") return `autoload -U +X bashcompinit && bashcompinit\n${bash(program)}`;
  if (shell === "fish") return fish(program);
  return undefined;
}
