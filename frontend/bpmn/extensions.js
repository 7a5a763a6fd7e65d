// Read and write the SpiffWorkflow extension elements of a diagram element through bpmn-js
// commands, so every edit made in the side panel can be undone with Ctrl+Z.

function BatchHandler() {}
BatchHandler.$inject = [];
// Commands executed in preExecute become part of this one, so a panel edit that touches
// several moddle objects is a single undo step.
BatchHandler.prototype.preExecute = (context) => context.run();
BatchHandler.prototype.execute = () => [];
BatchHandler.prototype.revert = () => [];

export class Extensions {
  constructor(modeler) {
    this.modeling = modeler.get('modeling');
    this.moddle = modeler.get('moddle');
    this.commandStack = modeler.get('commandStack');
    this.commandStack.registerHandler('egov.batch', BatchHandler);
  }

  batch(run) {
    this.commandStack.execute('egov.batch', { run });
  }

  create(type, props = {}, parent = null) {
    const object = this.moddle.create(type, props);
    if (parent) object.$parent = parent;
    return object;
  }

  update(element, moddleElement, properties) {
    this.modeling.updateModdleProperties(element, moddleElement, properties);
  }

  /** All extension values of `target` (a business object or event definition) of `type`. */
  findAll(target, type) {
    const values = (target.extensionElements && target.extensionElements.values) || [];
    return values.filter((value) => value.$instanceOf(type));
  }

  find(target, type) {
    return this.findAll(target, type)[0];
  }

  ensureExtensionElements(element, target) {
    if (target.extensionElements) return target.extensionElements;
    const ext = this.create('bpmn:ExtensionElements', { values: [] }, target);
    this.update(element, target, { extensionElements: ext });
    return ext;
  }

  addExtension(element, target, value) {
    const ext = this.ensureExtensionElements(element, target);
    value.$parent = ext;
    this.update(element, ext, { values: [...(ext.values || []), value] });
  }

  removeExtension(element, target, value) {
    const ext = target.extensionElements;
    if (!ext) return;
    const values = (ext.values || []).filter((v) => v !== value);
    // An empty <bpmn:extensionElements/> is legal but noise in diffs, so drop it.
    if (values.length) this.update(element, ext, { values });
    else this.update(element, target, { extensionElements: undefined });
  }

  // --- spiffworkflow:properties/property name=… value=… -----------------------------------

  getProperty(target, name) {
    const props = this.find(target, 'spiffworkflow:Properties');
    const prop = props && (props.properties || []).find((p) => p.name === name);
    return prop ? prop.value || '' : '';
  }

  setProperty(element, target, name, value) {
    this.batch(() => {
      let props = this.find(target, 'spiffworkflow:Properties');
      const existing = props && (props.properties || []).find((p) => p.name === name);
      if (!value) {
        if (!existing) return;
        const rest = props.properties.filter((p) => p !== existing);
        if (rest.length) this.update(element, props, { properties: rest });
        else this.removeExtension(element, target, props);
        return;
      }
      if (existing) {
        this.update(element, existing, { value });
        return;
      }
      if (!props) {
        props = this.create('spiffworkflow:Properties', { properties: [] });
        this.addExtension(element, target, props);
      }
      const prop = this.create('spiffworkflow:Property', { name, value }, props);
      this.update(element, props, { properties: [...(props.properties || []), prop] });
    });
  }

  // --- text-bodied elements: preScript, postScript, calledDecisionId, … ---------------------

  getText(target, type) {
    const value = this.find(target, type);
    return value ? value.value || '' : '';
  }

  setText(element, target, type, text) {
    this.batch(() => {
      const existing = this.find(target, type);
      if (!text) {
        if (existing) this.removeExtension(element, target, existing);
      } else if (existing) {
        this.update(element, existing, { value: text });
      } else {
        this.addExtension(element, target, this.create(type, { value: text }));
      }
    });
  }

  // --- spiffworkflow:serviceTaskOperator ------------------------------------------------------

  getOperator(target) {
    const op = this.find(target, 'spiffworkflow:ServiceTaskOperator');
    if (!op) return null;
    const params = (op.parameterList && op.parameterList.parameters) || [];
    return {
      object: op,
      id: op.id || '',
      resultVariable: op.resultVariable || '',
      parameters: params.map((p) => ({ object: p, id: p.id || '', type: p.type || '', value: p.value || '' })),
    };
  }

  /**
   * Point the task at `operatorId` and lay out one parameter per name in `paramNames`,
   * keeping the type and value of parameters that already exist under the same name.
   */
  setOperator(element, target, operatorId, paramNames) {
    this.batch(() => {
      const existing = this.find(target, 'spiffworkflow:ServiceTaskOperator');
      if (!operatorId) {
        if (existing) this.removeExtension(element, target, existing);
        return;
      }
      const old = new Map();
      const oldList = (existing && existing.parameterList && existing.parameterList.parameters) || [];
      for (const p of oldList) old.set(p.id, p);
      const names = paramNames && paramNames.length ? paramNames : oldList.map((p) => p.id);
      const list = this.create('spiffworkflow:Parameters', { parameters: [] });
      list.parameters = names.map((name) => {
        const prev = old.get(name);
        return this.create(
          'spiffworkflow:Parameter',
          // An empty value is left out: SpiffWorkflow skips parameters without a value attribute.
          { id: name, type: (prev && prev.type) || 'any', value: (prev && prev.value) || undefined },
          list,
        );
      });
      if (existing) {
        list.$parent = existing;
        this.update(element, existing, { id: operatorId, parameterList: list });
      } else {
        const op = this.create('spiffworkflow:ServiceTaskOperator', { id: operatorId });
        list.$parent = op;
        op.parameterList = list;
        this.addExtension(element, target, op);
      }
    });
  }

  addParameter(element, target, name) {
    const op = this.find(target, 'spiffworkflow:ServiceTaskOperator');
    if (!op) return;
    this.batch(() => {
      let list = op.parameterList;
      if (!list) {
        list = this.create('spiffworkflow:Parameters', { parameters: [] }, op);
        this.update(element, op, { parameterList: list });
      }
      const param = this.create('spiffworkflow:Parameter', { id: name, type: 'any' }, list);
      this.update(element, list, { parameters: [...(list.parameters || []), param] });
    });
  }

  removeParameter(element, target, param) {
    const op = this.find(target, 'spiffworkflow:ServiceTaskOperator');
    if (!op || !op.parameterList) return;
    this.update(element, op.parameterList, {
      parameters: op.parameterList.parameters.filter((p) => p !== param),
    });
  }

  // --- bpmn:FormalExpression bodies (conditions, timers) --------------------------------------

  expression(body) {
    return body ? this.create('bpmn:FormalExpression', { body }) : undefined;
  }
}
