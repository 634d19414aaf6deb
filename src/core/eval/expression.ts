/**
 * The one Nix expression the evaluation layer runs, as `nix eval --apply` on `nixosConfigurations.<host>`.
 *
 * It relies only on what `lib.nixosSystem` returns, i.e. on nixpkgs' `lib/modules.nix`:
 * - `evalModules`' result: `config`, `options`, `extendModules` (`extendModules { modules = [ … ]; }`);
 * - `evalOptionValue`'s option attributes: `_type = "option"`, `value`, `highestPrio`,
 *   `definitionsWithLocations` (a list of `{ file; value; }`), `isDefined`, `internal` (from `mkOption`);
 * - `mkOverride priority content` = `{ _type = "override"; inherit priority content; }`, with `mkForce` = priority 50
 *   and option defaults (`mkOptionDefault`) at 1500, so a `highestPrio` under 1500 means somebody defined it.
 * `lib` itself is not reachable from the host's value, so the override is written out as `mkOverride` builds it.
 *
 * Every read goes through `builtins.tryEval` (which catches `throw` and failed `assert`, the way the module
 * system reports bad values), and attributes are tested with `?` before they are read, so one broken option
 * costs that option only. Values are summarised (package name and version, scalars, sizes of sets and lists),
 * never instantiated or built; the output stays small whatever the configuration holds.
 */

/** What the expression is told, as JSON (parsed inside Nix with builtins.fromJSON). */
export interface EvalParams {
  /** stateVersion to try in the "what would raising change" evaluation; null: the nixpkgs release evaluated. */
  target: string | null;
  /** Option paths (rule database) read for the system. */
  options: string[][];
  /** Option paths read for each home-manager user. */
  homeOptions: string[][];
  /** Compare the enabled services' options between the two evaluations. */
  compareServices: boolean;
  /** Most options read per enabled service (bounds time and output). */
  maxOptionsPerService: number;
}

const SOURCE = String.raw`
params: host:
let
  inherit (builtins) tryEval isAttrs isList isFunction isPath isString attrNames filter length genList
    elemAt listToAttrs concatMap deepSeq foldl' substring stringLength;

  take = n: l: if length l <= n then l else genList (i: elemAt l i) n;

  # Reads a path of attribute names; { found = false; } when an attribute is missing or a read throws.
  getPath = path: root:
    let
      step = acc: name:
        if acc.found && isAttrs acc.value && acc.value ? \${name}
        then { found = true; value = acc.value.\${name}; }
        else { found = false; };
      r = tryEval (foldl' step { found = true; value = root; } path);
    in if r.success then r.value else { found = false; error = true; };

  isDrv = v: isAttrs v && (v.type or null) == "derivation";
  shortString = s: if stringLength s > 300 then substring 0 300 s else s;

  # A small, comparable summary of a value.
  summary = v:
    if isDrv v then {
      kind = "package";
      name = v.name or null;
      pname = v.pname or null;
      version = v.version or null;
    }
    else if isFunction v then { kind = "function"; }
    else if isPath v then { kind = "value"; value = toString v; }
    else if isString v then { kind = "value"; value = shortString (builtins.unsafeDiscardStringContext v); }
    else if isList v then {
      kind = "list";
      size = length v;
      items = map (x: if isDrv x then (x.name or "<package>") else if isString x then shortString (builtins.unsafeDiscardStringContext x)
                      else if isAttrs x || isList x || isFunction x then null else x) (take 20 v);
    }
    else if isAttrs v then { kind = "attrs"; names = take 50 (attrNames v); }
    else { kind = "value"; value = v; };

  # tryEval of a fully evaluated summary (deepSeq, so a throw deep inside is caught here).
  read = v: let s = tryEval (let x = summary v; in deepSeq x x); in
    if s.success then { ok = true; value = s.value; } else { ok = false; };

  fileOf = d: let f = tryEval (toString (d.file or "<unknown-file>")); in if f.success then f.value else "<unknown-file>";

  # One option of the option tree: priority, where it is defined, and its value.
  readOption = options: config: path:
    let
      o = getPath path options;
      opt = o.value;
      isOpt = o.found && isAttrs opt && (opt._type or null) == "option";
      prio = tryEval (opt.highestPrio or null);
      defs = tryEval (deepSeq (map fileOf (opt.definitionsWithLocations or [])) (map fileOf (opt.definitionsWithLocations or [])));
      c = getPath path config;
    in {
      path = path;
      declared = isOpt;
      highestPrio = if isOpt && prio.success then prio.value else null;
      files = if isOpt && defs.success then defs.value else [];
      value = if c.found then read c.value else { ok = false; missing = !(c.error or false); };
    };

  stateVersionOf = h:
    let
      o = getPath [ "system" "stateVersion" ] h.options;
      defs = tryEval (let l = map (d: { file = fileOf d; value = let v = tryEval d.value; in if v.success && isString v.value then v.value else null; })
                                  (o.value.definitionsWithLocations or []);
                      in deepSeq l l);
      prio = tryEval (o.value.highestPrio or null);
    in {
      value = let c = getPath [ "system" "stateVersion" ] h.config; in if c.found then read c.value else { ok = false; };
      highestPrio = if o.found && prio.success then prio.value else null;
      definitions = if o.found && defs.success then defs.value else [];
    };

  # The services enabled in a configuration, and the plain options of each (one level of nested sets).
  servicesOf = h:
    let
      s = getPath [ "services" ] h.config;
      names = if s.found && isAttrs s.value then attrNames s.value else [];
      enabled = filter (n: let e = tryEval (s.value.\${n}.enable or false); in e.success && e.value == true) names;
      optionPaths = n:
        let
          o = getPath [ "services" n ] h.options;
          walk = depth: prefix: set:
            let ks = let r = tryEval (attrNames set); in if r.success then r.value else []; in
            concatMap (k:
              let v = set.\${k}; t = tryEval (isAttrs v && (v._type or null) == "option");
                  internal = tryEval (v.internal or false);
              in if !t.success then []
                 else if t.value then (if internal.success && internal.value == true then [] else [ (prefix ++ [ k ]) ])
                 else if depth > 0 && (let a = tryEval (isAttrs v); in a.success && a.value) then walk (depth - 1) (prefix ++ [ k ]) v
                 else []) ks;
        in if o.found && isAttrs o.value then take params.maxOptionsPerService (walk 1 [ "services" n ] o.value) else [];
    in listToAttrs (map (n: { name = n; value = optionPaths n; }) enabled);

  readValues = h: paths: map (p: { path = p; value = let c = getPath p h.config; in if c.found then read c.value else { ok = false; }; }) paths;

  homeUsersOf = h:
    let u = getPath [ "home-manager" "users" ] h.config;
        names = if u.found && isAttrs u.value then (let r = tryEval (attrNames u.value); in if r.success then r.value else []) else [];
    in map (name:
      let cfg = u.value.\${name}; in {
        inherit name;
        stateVersion = let c = getPath [ "home" "stateVersion" ] cfg; in if c.found then read c.value else { ok = false; };
        options = map (p: { path = p; value = let c = getPath p cfg; in if c.found then read c.value else { ok = false; }; }) params.homeOptions;
      }) names;

  describe = h: services: {
    stateVersion = stateVersionOf h;
    release = let c = getPath [ "system" "nixos" "release" ] h.config; in if c.found then read c.value else { ok = false; };
    configurationRevision = readOption h.options h.config [ "system" "configurationRevision" ];
    label = readOption h.options h.config [ "system" "nixos" "label" ];
    options = map (readOption h.options h.config) params.options;
    homeUsers = homeUsersOf h;
    services = listToAttrs (map (n: { name = n; value = readValues h services.\${n}; }) (attrNames services));
  };

  current = describe host currentServices;
  currentServices = if params.compareServices then servicesOf host else {};

  release = current.release.value.value or null;
  stateVersion = current.stateVersion.value.value.value or null;
  target = if params.target != null then params.target else release;

  # The same host with stateVersion forced to the target: mkForce as lib.mkOverride writes it.
  raised = host.extendModules {
    modules = [ { system.stateVersion = { _type = "override"; priority = 50; content = target; }; } ];
  };
  raisedResult =
    let ok = tryEval (isAttrs raised && raised ? config && raised ? options); in
    if !(host ? extendModules) then { available = false; reason = "the configuration has no extendModules"; }
    else if !ok.success || !ok.value then { available = false; reason = "extendModules failed"; }
    # Read the same service options as in the current evaluation, plus the services only the raised one enables.
    else { available = true; result = describe raised (currentServices // (if params.compareServices then servicesOf raised else {})); };
in {
  storeDir = builtins.storeDir;
  inherit current target;
  # Only upwards: a stateVersion at or past the target (newer than the nixpkgs release) has nothing to raise.
  raised = if target == null || !(isString target) || (isString stateVersion && builtins.compareVersions target stateVersion <= 0)
    then null else raisedResult;
}
`;

/** The expression's text (written above with `\${` so the template literal keeps Nix's interpolations). */
export const EVAL_EXPRESSION = SOURCE.replace(/\\\$\{/g, '${');

/** A Nix string literal holding `text` (for the JSON parameters spliced into --apply). */
export function nixStringLiteral(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '\\${')}"`;
}

/** The `--apply` argument: the expression applied to its parameters. */
export function applyArgument(params: EvalParams): string {
  return `(${EVAL_EXPRESSION}) (builtins.fromJSON ${nixStringLiteral(JSON.stringify(params))})`;
}
