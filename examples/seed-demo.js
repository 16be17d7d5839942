/**
* 云通信基础能力业务-号码隐私保护示例,仅供参考。
* Created on 2018-07-27
*/
const PLSClient = require('@alicloud/pls-sdk')
// ACCESS_KEY_ID/ACCESS_KEY_SECRET 根据实际申请的账号信息进行替换
const accessKeyId = 'yourAccessKeyId'
const secretAccessKey = 'yourAccessKeySecret'
//在云通信页面开通相应业务消息后,就能在页面上获得对应的queueName,不用填最后面一段
const queueName = 'Alicom-Queue-13635054xxxxxx-'
//初始化sms_client
const plsClient = new PLSClient({ accessKeyId, secretAccessKey })
const PoolKey = 'FC100000xxxxxx'
// 绑定Axb号码示例方法
plsClient.bindAxb({
PoolKey,
PhoneNoA: '18040580000',
PhoneNoB: '13871140000',
Expiration: '2018-08-05 12:00:00'
}).then(function (res) {
console.log('绑定axb成功', res)
}, function (err) {
console.log('绑定axb失败', err)
})
