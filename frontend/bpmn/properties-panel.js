// The modeler's side panel: edits the SpiffWorkflow dialect of the selected element.
//
// Every edit goes through bpmn-js commands (via Extensions), so undo/redo and the dirty flag
// work as for drawing. Text fields commit on `change` (blur or Enter), not per keystroke, so
// one edit is one undo step; the panel re-renders after each command and puts focus back.
import { is, isAny, getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

import { h, uid } from '../lib/dom.js';
import { Extensions } from './extensions.js';

const TYPE_NAMES = {
  'bpmn:Process': '流程',
  'bpmn:Collaboration': '协作图',
  'bpmn:Participant': '泳池（参与者）',
  'bpmn:Lane': '泳道（角色）',
  'bpmn:UserTask': '用户任务',
  'bpmn:ServiceTask': '服务任务',
  'bpmn:ScriptTask': '脚本任务',
  'bpmn:BusinessRuleTask': '业务规则任务',
  'bpmn:ManualTask': '手工任务',
  'bpmn:SendTask': '发送任务',
  'bpmn:ReceiveTask': '接收任务',
  'bpmn:CallActivity': '调用活动',
  'bpmn:SubProcess': '子流程',
  'bpmn:Transaction': '事务',
  'bpmn:Task': '任务',
  'bpmn:StartEvent': '开始事件',
  'bpmn:EndEvent': '结束事件',
  'bpmn:IntermediateCatchEvent': '中间捕获事件',
  'bpmn:IntermediateThrowEvent': '中间抛出事件',
  'bpmn:BoundaryEvent': '边界事件',
  'bpmn:ExclusiveGateway': '排他网关',
  'bpmn:InclusiveGateway': '包容网关',
  'bpmn:ParallelGateway': '并行网关',
  'bpmn:EventBasedGateway': '事件网关',
  'bpmn:ComplexGateway': '复杂网关',
  'bpmn:SequenceFlow': '顺序流',
  'bpmn:MessageFlow': '消息流',
  'bpmn:TextAnnotation': '注释',
  'bpmn:Group': '分组',
  'bpmn:DataObjectReference': '数据对象',
  'bpmn:DataStoreReference': '数据存储',
};

const TIMER_KINDS = [
  ['timeDuration', '时长（timeDuration）'],
  ['timeDate', '日期时间（timeDate）'],
  ['timeCycle', '周期（timeCycle）'],
];

const ID_PATTERN = /^[A-Za-z_][\w.-]*$/;

function typeName(bo) {
  return TYPE_NAMES[bo.$type] || bo.$type.replace(/^bpmn:/, '');
}

function eventDefinition(bo, type) {
  return (bo.eventDefinitions || []).find((d) => is(d, type));
}

// A form's choice in the 表单 list: its title and file name; a draft (made in the browser, not deployed yet)
// says so, since choosing it and deploying is what makes it live.
function formLabel({ name, title, draft }) {
  if (!title) return draft ? `${name}（草稿）` : name;
  return draft ? `${title}（${name}，草稿）` : `${title}（${name}）`;
}

export class PropertiesPanel {
  /**
   * @param modeler   the bpmn-js Modeler
   * @param container element to render into
   * @param catalogs  {forms, handlers, roles, lanes}: arrays, or null when their list failed to load
   */
  constructor(modeler, container, catalogs) {
    this.modeler = modeler;
    this.container = container;
    this.catalogs = catalogs;
    this.ext = new Extensions(modeler);
    this.modeling = modeler.get('modeling');
    this.canvas = modeler.get('canvas');
    this.registry = modeler.get('elementRegistry');
    this.moddle = modeler.get('moddle');
    this.scheduled = false;
    const bus = modeler.get('eventBus');
    bus.on(['selection.changed', 'import.done', 'root.set'], () => this.schedule());
    bus.on('commandStack.changed', () => this.schedule());
  }

  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  current() {
    const selected = this.modeler.get('selection').get();
    if (selected.length === 1) return selected[0];
    if (selected.length > 1) return null;
    return this.canvas.getRootElement();
  }

  render() {
    const active = document.activeElement;
    const focusKey = this.container.contains(active) && active.dataset ? active.dataset.key : null;
    const openDetails = new Set(
      [...this.container.querySelectorAll('details[open]')].map((d) => d.dataset.key),
    );

    const element = this.current();
    const body = [];
    if (!element) {
      body.push(h('p', { class: 'egov-panel-hint' }, '已选择多个元素。选择单个元素以编辑其属性。'));
    } else {
      body.push(...this.sections(element));
    }
    this.container.replaceChildren(h('h2', { class: 'egov-panel-title' }, '属性'), ...body);

    for (const d of this.container.querySelectorAll('details')) {
      if (openDetails.has(d.dataset.key)) d.open = true;
    }
    if (focusKey) {
      const target = this.container.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
      if (target) target.focus();
    }
  }

  // --- field builders -------------------------------------------------------------------------

  field(label, control, help, error) {
    const id = control.id || uid('egov-prop');
    control.id = id;
    return h(
      'div',
      { class: 'egov-prop' },
      h('label', { for: id }, label),
      control,
      help ? h('div', { class: 'egov-prop-help' }, help) : null,
      error ? h('div', { class: 'egov-prop-error', role: 'alert' }, error) : null,
    );
  }

  text(key, value, onCommit, { multiline = false, code = false, placeholder = '', readOnly = false } = {}) {
    const attrs = {
      class: code ? 'egov-code' : null,
      'data-key': key,
      value: value || '',
      placeholder: placeholder || null,
      readonly: readOnly,
      spellcheck: code ? 'false' : null,
      onchange: (e) => onCommit(e.target.value),
    };
    if (multiline) return h('textarea', { ...attrs, rows: code ? 6 : 3 });
    return h('input', {
      ...attrs,
      type: 'text',
      onkeydown: (e) => {
        if (e.key === 'Enter') e.target.blur();
      },
    });
  }

  /** A <select> over `options` ([value, label]); keeps an unknown current value selectable. */
  select(key, value, options, onCommit, emptyLabel = '（未设置）') {
    const opts = [['', emptyLabel], ...options];
    if (value && !options.some(([v]) => v === value)) opts.push([value, `${value}（未登记）`]);
    return h(
      'select',
      { 'data-key': key, onchange: (e) => onCommit(e.target.value) },
      opts.map(([v, label]) => h('option', { value: v, selected: v === (value || '') }, label)),
    );
  }

  section(title, ...rows) {
    return h('fieldset', { class: 'egov-panel-section' }, h('legend', {}, title), ...rows);
  }

  details(key, title, ...rows) {
    return h('details', { class: 'egov-panel-section', 'data-key': key }, h('summary', {}, title), ...rows);
  }

  // --- sections by element type ----------------------------------------------------------------

  sections(element) {
    const bo = getBusinessObject(element);
    const out = [this.general(element, bo)];
    if (is(bo, 'bpmn:Participant') && bo.processRef) out.push(this.processSection(element, bo.processRef));
    if (is(bo, 'bpmn:Process')) out.push(this.processSection(element, bo));
    if (is(bo, 'bpmn:UserTask')) out.push(this.userTask(element, bo));
    if (is(bo, 'bpmn:ServiceTask')) out.push(this.serviceTask(element, bo));
    if (is(bo, 'bpmn:ScriptTask')) out.push(this.scriptTask(element, bo));
    if (is(bo, 'bpmn:BusinessRuleTask')) out.push(this.businessRule(element, bo));
    if (is(bo, 'bpmn:CallActivity')) out.push(this.callActivity(element, bo));
    if (is(bo, 'bpmn:SequenceFlow')) out.push(this.sequenceFlow(element, bo));
    if (is(bo, 'bpmn:Event')) {
      const timer = eventDefinition(bo, 'bpmn:TimerEventDefinition');
      if (timer) out.push(this.timer(element, timer));
      const message = eventDefinition(bo, 'bpmn:MessageEventDefinition');
      if (message) out.push(this.message(element, bo, message));
    }
    if (is(bo, 'bpmn:Activity')) out.push(this.scripts(element, bo));
    return out.filter(Boolean);
  }

  general(element, bo) {
    const rows = [this.field('类型', h('input', { type: 'text', value: typeName(bo), readonly: true, tabindex: '-1' }))];
    const isRootProcess = element === this.canvas.getRootElement();
    if (!is(bo, 'bpmn:Collaboration') && !isRootProcess) rows.push(this.idField(element, bo));
    if (is(bo, 'bpmn:Lane')) {
      rows.push(this.laneRole(element, bo));
    } else if (!isAny(bo, ['bpmn:Collaboration', 'bpmn:Process'])) {
      const textKey = is(bo, 'bpmn:TextAnnotation') ? 'text' : 'name';
      rows.push(
        this.field(
          is(bo, 'bpmn:TextAnnotation') ? '注释内容' : '名称',
          this.text(`${bo.id}:name`, bo.get(textKey), (v) => this.modeling.updateLabel(element, v), {
            multiline: true,
          }),
        ),
      );
    }
    if (is(bo, 'bpmn:Collaboration')) {
      rows.push(h('p', { class: 'egov-panel-hint' }, '选择泳池可编辑其流程 ID 与名称；选择泳道可指定办理角色。'));
    }
    return this.section('基本信息', ...rows);
  }

  /** An ID text box that checks the new ID before `apply(id)` and shows why it was refused. */
  idInput(key, current, apply) {
    const input = this.text(key, current, (value) => {
      const id = value.trim();
      if (id === current) return;
      let error = null;
      if (!ID_PATTERN.test(id)) error = 'ID 须以字母或下划线开头，只含字母、数字、下划线、点和连字符';
      else if (this.registry.get(id) || this.moddle.ids.assigned(id)) error = `ID “${id}” 已被使用`;
      if (!error) {
        apply(id);
        return;
      }
      input.setAttribute('aria-invalid', 'true');
      input.parentElement.querySelector('.egov-prop-error')?.remove();
      input.after(h('div', { class: 'egov-prop-error', role: 'alert' }, error));
    });
    return input;
  }

  idField(element, bo) {
    return this.field('ID', this.idInput(`${bo.id}:id`, bo.id, (id) => this.modeling.updateProperties(element, { id })));
  }

  processSection(element, process) {
    const isParticipant = !is(getBusinessObject(element), 'bpmn:Process');
    const updateProcess = (props) => {
      if (isParticipant) this.ext.update(element, process, props);
      else this.modeling.updateProperties(element, props);
    };
    const rows = [
      this.field(
        '流程 ID',
        this.idInput(`${process.id}:process-id`, process.id, (id) => {
          if (isParticipant) {
            // updateModdleProperties leaves the id registry alone, so move the claim by hand.
            this.moddle.ids.unclaim(process.id);
            this.moddle.ids.claim(id, process);
          }
          updateProcess({ id });
        }),
        '部署时以流程 ID 区分流程，每次部署生成该流程的新版本。',
      ),
    ];
    rows.push(
      this.field(
        '流程名称',
        this.text(`${process.id}:process-name`, process.name, (v) => updateProcess({ name: v.trim() || undefined })),
      ),
    );
    const executable = h('input', {
      type: 'checkbox',
      'data-key': `${process.id}:exec`,
      checked: !!process.isExecutable,
      onchange: (e) => updateProcess({ isExecutable: e.target.checked }),
    });
    rows.push(h('div', { class: 'egov-prop egov-prop-check' }, h('label', {}, executable, ' 可执行（引擎运行此流程）')));
    return this.section('流程', ...rows);
  }

  laneRole(element, bo) {
    const roles = this.catalogs.roles;
    // Lane names mapped to a role on 泳道与角色 (e.g. 市数管局规划科 → 市数管局项目科) are lanes too.
    const roleNames = new Map((roles || []).map((r) => [r.code, r.name]));
    const mapped = (this.catalogs.lanes || [])
      .filter((l) => !(roles || []).some((r) => r.name === l.lane))
      .map((l) => [l.lane, `${l.lane}（→ ${roleNames.get(l.role_code) || l.role_code}）`]);
    const control = roles
      ? this.select(
          `${bo.id}:role`,
          bo.name || '',
          [...roles.map((r) => [r.name, r.code ? `${r.name}（${r.code}）` : r.name]), ...mapped],
          (v) => this.modeling.updateLabel(element, v),
          '（未指定角色）',
        )
      : this.text(`${bo.id}:role`, bo.name, (v) => this.modeling.updateLabel(element, v));
    return this.field(
      '办理角色（泳道名称）',
      control,
      roles ? '泳道按名称对应角色，泳道内的用户任务由该角色办理。' : '角色列表加载失败，请直接输入角色名称。',
    );
  }

  userTask(element, bo) {
    const forms = this.catalogs.forms;
    const formValue = this.ext.getProperty(bo, 'formJsonSchemaFilename');
    const setProp = (name) => (value) => this.ext.setProperty(element, bo, name, value.trim());
    const formControl = forms
      ? this.select(
          `${bo.id}:form`,
          formValue,
          forms.map((f) => [f.name, formLabel(f)]),
          setProp('formJsonSchemaFilename'),
          '（无表单）',
        )
      : this.text(`${bo.id}:form`, formValue, setProp('formJsonSchemaFilename'), { placeholder: 'xxx.schema.json' });
    return this.section(
      '表单与办理',
      this.field('表单', formControl, forms ? null : '表单列表加载失败，请直接输入表单文件名。'),
      this.field(
        '界面定义文件',
        this.text(`${bo.id}:uiform`, this.ext.getProperty(bo, 'formUiSchemaFilename'), setProp('formUiSchemaFilename'), {
          placeholder: 'xxx.uischema.json',
        }),
        '可选：表单布局（formUiSchemaFilename）。',
      ),
      this.field(
        '办理人',
        this.text(`${bo.id}:owner`, this.ext.getProperty(bo, 'owner'), setProp('owner')),
        '可选（owner）：为空时由泳道角色办理；可填写取自流程数据的表达式。',
      ),
      this.field(
        '办理期限',
        this.text(`${bo.id}:due`, this.ext.getProperty(bo, 'dueIn'), setProp('dueIn'), { placeholder: 'P5D' }),
        '可选（dueIn）：ISO 8601 时长，如 P5D 表示 5 天、PT48H 表示 48 小时。',
      ),
      this.field(
        '办理说明',
        this.text(
          `${bo.id}:instructions`,
          this.ext.getText(bo, 'spiffworkflow:InstructionsForEndUser'),
          (v) => this.ext.setText(element, bo, 'spiffworkflow:InstructionsForEndUser', v),
          { multiline: true },
        ),
        '显示在办理页面顶部。',
      ),
    );
  }

  serviceTask(element, bo) {
    const handlers = this.catalogs.handlers;
    const op = this.ext.getOperator(bo);
    const current = op ? op.id : '';
    const byName = new Map((handlers || []).map((hd) => [hd.operator, hd]));
    const onOperator = (value) => {
      const handler = byName.get(value);
      this.ext.setOperator(element, bo, value.trim(), handler ? handler.params || [] : null);
    };
    const control = handlers
      ? this.select(
          `${bo.id}:operator`,
          current,
          handlers.map((hd) => [hd.operator, hd.title ? `${hd.title}（${hd.operator}）` : hd.operator]),
          onOperator,
          '（未选择）',
        )
      : this.text(`${bo.id}:operator`, current, onOperator);
    const rows = [
      this.field('服务操作', control, handlers ? null : '服务列表加载失败，请直接输入操作名（operator）。'),
    ];
    if (op) {
      rows.push(this.parameterTable(element, bo, op, byName.get(op.id)));
      rows.push(
        this.field(
          '结果变量',
          this.text(`${bo.id}:result`, op.resultVariable, (v) =>
            this.ext.update(element, op.object, { resultVariable: v.trim() || undefined }),
          ),
          '可选（resultVariable）：服务返回值存入此流程变量。',
        ),
      );
    }
    return this.section('服务调用', ...rows);
  }

  parameterTable(element, bo, op, handler) {
    const known = new Set((handler && handler.params) || []);
    const rows = op.parameters.map((p, i) =>
      h(
        'tr',
        {},
        h(
          'td',
          {},
          this.text(`${bo.id}:param:${i}:id`, p.id, (v) => this.ext.update(element, p.object, { id: v.trim() }), {
            readOnly: known.has(p.id),
          }),
        ),
        h(
          'td',
          {},
          this.text(`${bo.id}:param:${i}:type`, p.type, (v) => this.ext.update(element, p.object, { type: v.trim() || 'any' })),
        ),
        h(
          'td',
          {},
          this.text(`${bo.id}:param:${i}:value`, p.value, (v) => this.ext.update(element, p.object, { value: v || undefined }), {
            code: true,
          }),
        ),
        h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'egov-link-btn',
              title: '删除此参数',
              onclick: () => this.ext.removeParameter(element, bo, p.object),
            },
            '删除',
          ),
        ),
      ),
    );
    const add = h(
      'button',
      {
        type: 'button',
        class: 'egov-small-btn',
        onclick: () => this.ext.addParameter(element, bo, `param_${op.parameters.length + 1}`),
      },
      '添加参数',
    );
    return h(
      'div',
      { class: 'egov-prop' },
      h('span', { class: 'egov-prop-label' }, '参数'),
      h(
        'table',
        { class: 'egov-param-table' },
        h('thead', {}, h('tr', {}, h('th', {}, '参数名'), h('th', {}, '类型'), h('th', {}, '值（表达式）'), h('th'))),
        h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: '4', class: 'egov-panel-hint' }, '无参数'))),
      ),
      add,
      h('div', { class: 'egov-prop-help' }, '值为流程数据上的表达式，如 project_id 或 "固定文字"。'),
    );
  }

  scriptTask(element, bo) {
    return this.section(
      '脚本',
      this.field(
        '脚本内容',
        this.text(
          `${bo.id}:script`,
          bo.script,
          (v) => this.modeling.updateProperties(element, { script: v || undefined, scriptFormat: bo.scriptFormat || 'python' }),
          { multiline: true, code: true },
        ),
        'Python 语句，在沙箱中运行：可读写流程变量，不能导入模块或访问文件、网络。',
      ),
    );
  }

  businessRule(element, bo) {
    return this.section(
      '业务规则',
      this.field(
        '决策表 ID',
        this.text(`${bo.id}:decision`, this.ext.getText(bo, 'spiffworkflow:CalledDecisionId'), (v) =>
          this.ext.setText(element, bo, 'spiffworkflow:CalledDecisionId', v.trim()),
        ),
        '（calledDecisionId）DMN 文件中 decision 的 ID。',
      ),
    );
  }

  callActivity(element, bo) {
    return this.section(
      '调用',
      this.field(
        '被调用流程 ID',
        this.text(`${bo.id}:called`, bo.calledElement, (v) =>
          this.modeling.updateProperties(element, { calledElement: v.trim() || undefined }),
        ),
        '（calledElement）同一部署包中另一流程的 ID。',
      ),
    );
  }

  sequenceFlow(element, bo) {
    const source = bo.sourceRef;
    const rows = [];
    const canBeDefault = source && isAny(source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:ComplexGateway', 'bpmn:Activity']);
    const isDefault = canBeDefault && source.default === bo;
    const conditional =
      source && isAny(source, ['bpmn:ExclusiveGateway', 'bpmn:InclusiveGateway', 'bpmn:ComplexGateway', 'bpmn:Activity']);
    if (canBeDefault) {
      const sourceShape = this.registry.get(source.id);
      const box = h('input', {
        type: 'checkbox',
        'data-key': `${bo.id}:default`,
        checked: isDefault,
        onchange: (e) =>
          this.modeling.updateProperties(sourceShape, { default: e.target.checked ? bo : undefined }),
      });
      rows.push(h('div', { class: 'egov-prop egov-prop-check' }, h('label', {}, box, ' 默认路径（其他条件都不满足时走此路径）')));
    }
    if (conditional && !isDefault) {
      const body = bo.conditionExpression ? bo.conditionExpression.body : '';
      rows.push(
        this.field(
          '条件表达式',
          this.text(
            `${bo.id}:condition`,
            body,
            (v) => this.modeling.updateProperties(element, { conditionExpression: this.ext.expression(v.trim()) }),
            { multiline: true, code: true, placeholder: 'total_budget >= 5000000' },
          ),
          'Python 表达式，结果为真时走此路径，如 total_budget >= 5000000。',
        ),
      );
    }
    if (!rows.length) return null;
    return this.section('流转条件', ...rows);
  }

  timer(element, definition) {
    const kind = TIMER_KINDS.map(([k]) => k).find((k) => definition[k]) || 'timeDuration';
    const body = definition[kind] ? definition[kind].body : '';
    const clear = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    // An empty expression still records the chosen kind, so the select does not jump back.
    const formal = (text) => this.ext.create('bpmn:FormalExpression', { body: text });
    const setKind = (newKind) => this.ext.update(element, definition, { ...clear, [newKind]: formal(body) });
    const setBody = (text) => this.ext.update(element, definition, { ...clear, [kind]: formal(text.trim()) });
    const kindSelect = h(
      'select',
      { 'data-key': `${definition.id || element.id}:timer-kind`, onchange: (e) => setKind(e.target.value) },
      TIMER_KINDS.map(([k, label]) => h('option', { value: k, selected: k === kind }, label)),
    );
    return this.section(
      '定时',
      this.field('定时方式', kindSelect),
      this.field(
        '表达式',
        this.text(`${element.id}:timer-body`, body, setBody, { code: true, placeholder: '"P5D"' }),
        '表达式，结果为 ISO 8601 文本：时长如 "P5D"，日期如 "2025-01-01T09:00:00+08:00"，周期如 "R/P1Y"。也可引用流程变量。',
      ),
    );
  }

  message(element, bo, definition) {
    const message = definition.messageRef;
    // The name picks the message: an existing bpmn:message of that name is shared (sender and
    // receiver must use the same one), otherwise a new one is declared. A shared message is
    // never renamed from here, since that would silently change the other events too.
    const setName = (value) => {
      const name = value.trim();
      if (message && message.name === name) return;
      if (!name) {
        this.ext.update(element, definition, { messageRef: undefined });
        return;
      }
      const definitions = this.modeler.getDefinitions();
      const existing = definitions.rootElements.find((e) => is(e, 'bpmn:Message') && e.name === name);
      if (existing) {
        this.ext.update(element, definition, { messageRef: existing });
        return;
      }
      this.ext.batch(() => {
        const created = this.ext.create('bpmn:Message', { id: this.moddle.ids.nextPrefixed('Message_'), name }, definitions);
        this.ext.update(element, definitions, { rootElements: [...definitions.rootElements, created] });
        this.ext.update(element, definition, { messageRef: created });
      });
    };
    const throwing = isAny(bo, ['bpmn:IntermediateThrowEvent', 'bpmn:EndEvent']);
    const rows = [
      this.field('消息名称', this.text(`${element.id}:msg-name`, message && message.name, setName), '发送与接收双方使用同一消息名称。'),
    ];
    if (throwing) {
      rows.push(
        this.field(
          '消息内容',
          this.text(
            `${element.id}:payload`,
            this.ext.getText(definition, 'spiffworkflow:MessagePayload'),
            (v) => this.ext.setText(element, definition, 'spiffworkflow:MessagePayload', v.trim()),
            { multiline: true, code: true },
          ),
          '（messagePayload）表达式，其值随消息发出。',
        ),
      );
    } else {
      rows.push(
        this.field(
          '接收变量',
          this.text(`${element.id}:msg-var`, this.ext.getText(definition, 'spiffworkflow:MessageVariable'), (v) =>
            this.ext.setText(element, definition, 'spiffworkflow:MessageVariable', v.trim()),
          ),
          '（messageVariable）收到的消息内容存入此流程变量。',
        ),
      );
    }
    return this.section('消息', ...rows);
  }

  scripts(element, bo) {
    const area = (type, key) =>
      this.text(`${bo.id}:${key}`, this.ext.getText(bo, type), (v) => this.ext.setText(element, bo, type, v), {
        multiline: true,
        code: true,
      });
    return this.details(
      `${bo.id}:scripts`,
      '前置 / 后置脚本',
      this.field('前置脚本', area('spiffworkflow:PreScript', 'pre'), '（preScript）任务开始前运行。'),
      this.field('后置脚本', area('spiffworkflow:PostScript', 'post'), '（postScript）任务完成后运行。'),
    );
  }
}
