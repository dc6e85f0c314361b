#!/usr/bin/env node
console.log('eddy');
